import { afterAll, expect, test } from "bun:test";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { validatePluginFolder } from "../../src/plugins/validate.ts";
import { contextFor, hostHarness, removeHomes, tempHome } from "./helpers.ts";

const EXAMPLE = join(import.meta.dir, "../../examples/echo");
afterAll(removeHomes);

test("examples/echo passes every load-time check without warnings", async () => {
  const report = await validatePluginFolder(EXAMPLE);
  expect(report).toMatchObject({
    name: "echo",
    valid: true,
    version: "1.0.0",
    tools: ["echo.say"],
    problems: [],
    warnings: [],
  });
});

test("examples/echo loads from a home and answers through its catalog entry", async () => {
  const home = tempHome();
  cpSync(EXAMPLE, join(home, "plugins/echo"), { recursive: true });
  const h = hostHarness(home, { settings: { builtins: false } });
  await h.host.load();
  expect(h.host.statuses()).toMatchObject([{ name: "echo", state: "healthy", source: "user" }]);
  const echo = h.catalog.get("echo.say");
  expect(await echo?.invoke({ message: "hi", shout: true, times: 2 }, contextFor("g"))).toEqual({ echo: "HI HI" });
  await h.host.shutdown();
  await h.audit.close();
});
