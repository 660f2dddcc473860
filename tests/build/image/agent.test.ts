import { expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { recipeImageTag, repoVersion } from "../../../build/image/agent.ts";
import { agentImageTag } from "../../../src/container/image.ts";
import { runCommand } from "../../harness/run.ts";

const AGENT_SCRIPT = join(import.meta.dir, "../../../build/image/agent.ts");

test("the test image tag is the release tag plus a digest that changes with the ipc copied into the image", async () => {
  const dir = mkdtempSync(join(tmpdir(), "recipe-tag-"));
  try {
    const ipc = join(dir, "ipc");
    writeFileSync(ipc, "one client");
    const first = recipeImageTag(ipc);
    expect(first).toMatch(new RegExp(`^${agentImageTag(repoVersion()).replaceAll(".", "\\.")}-[0-9a-f]{12}$`));
    expect(recipeImageTag(ipc)).toBe(first);
    copyFileSync(ipc, join(dir, "same"));
    expect(recipeImageTag(join(dir, "same"))).toBe(first);
    writeFileSync(ipc, "another client");
    expect(recipeImageTag(ipc)).not.toBe(first);
    const printed = await runCommand(["bun", AGENT_SCRIPT, "--print-recipe-tag", "--ipc", ipc], { env: process.env });
    expect(printed.code).toBe(0);
    expect(printed.stdout.trim()).toBe(recipeImageTag(ipc));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
