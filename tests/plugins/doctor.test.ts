/** `carapace doctor` lists a plugin that would fail to load, with its category and fix (compiled binary). */
import { expect, test } from "bun:test";
import { installMalicious, installPlugin } from "../fixtures/plugins/install.ts";
import { tempHome } from "../harness/core.ts";
import { carapace } from "./cli-run.ts";

interface Check {
  id: string;
  level: string;
  detail: string;
  fix?: string;
}

async function doctor(home: string): Promise<{ code: number; checks: Check[]; text: string }> {
  const json = await carapace(home, ["doctor", "--json"], { SKIP_IMAGE_BUILD: "1" });
  const text = await carapace(home, ["doctor"], { SKIP_IMAGE_BUILD: "1" });
  return { code: json.code, checks: (JSON.parse(json.stdout) as { checks: Check[] }).checks, text: text.stdout };
}

test("healthy plugins make one pass line", async () => {
  const home = tempHome();
  installPlugin(home, "tool-error");
  const { checks } = await doctor(home);
  const plugins = checks.filter((c) => c.id.startsWith("plugins"));
  expect(plugins).toHaveLength(1);
  expect(plugins[0]).toMatchObject({
    id: "plugins",
    level: "pass",
    detail: expect.stringContaining("tool-error (user)"),
  });
});

test("a malicious plugin is listed as failed with its category and fix; exit 1", async () => {
  const home = tempHome();
  installPlugin(home, "tool-error");
  installMalicious(home, "open-nested");
  installMalicious(home, "world-writable");
  const { code, checks, text } = await doctor(home);
  expect(code).toBe(1);
  expect(checks.find((c) => c.id === "plugins.open-nested")).toMatchObject({
    level: "fail",
    detail: expect.stringContaining("schema_open"),
    fix: expect.stringContaining("additionalProperties"),
  });
  expect(checks.find((c) => c.id === "plugins.world-writable")).toMatchObject({
    level: "fail",
    detail: expect.stringContaining("unsafe_permissions"),
  });
  expect(checks.some((c) => c.id === "plugins" && c.level === "pass")).toBe(false);
  expect(text).toMatch(/✗ fail plugin open-nested: user plugin would not load: schema_open/);
  expect(text).toContain("Security posture: RED");
});
