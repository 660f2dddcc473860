import { expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { claudeMd, prepareSessionFiles, removeSessionFiles } from "../../src/agent/workspace.ts";
import { tempHome } from "../harness/core.ts";

test("session files: read-only prompt, CLAUDE.md and skills; per-group writable dirs; removed at the end", () => {
  const home = tempHome();
  const f = prepareSessionFiles(home, "abc123", "work", "65534:65534", {
    prompt: "do it",
    claudeMd: claudeMd("work", "### brief", [{ name: "hello.echo", description: "Echoes." }]),
    skills: { "carapace-core": "---\nname: carapace-core\n---\n" },
  });
  expect(readFileSync(f.promptFile, "utf8")).toBe("do it");
  expect(statSync(f.promptFile).mode & 0o777).toBe(0o444);
  expect(readFileSync(f.claudeMdFile, "utf8")).toContain("`hello.echo`: Echoes.");
  expect(readFileSync(f.claudeMdFile, "utf8")).toContain("### brief");
  expect(statSync(join(f.skillsDir, "carapace-core", "SKILL.md")).mode & 0o222).toBe(0);
  expect(f.workspaceDir).toBe(join(home, "data/workspaces/work"));
  if (process.getuid?.() === 0) expect(statSync(f.workspaceDir).uid).toBe(65534);
  removeSessionFiles(home, "abc123");
  expect(existsSync(f.dir)).toBe(false);
  expect(existsSync(f.workspaceDir)).toBe(true);
});

test("CLAUDE.md without a brief has no memory section", () => {
  expect(claudeMd("g", null, [])).not.toContain("Memory from earlier sessions");
});
