import { expect, test } from "bun:test";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import {
  claudeMd,
  prepareSessionFiles,
  removeSessionFiles,
  removeStaleSessionFiles,
} from "../../src/agent/workspace.ts";
import { tempHome } from "../harness/core.ts";

test("session files: read-only prompt, CLAUDE.md and skills; fresh per-session Claude state; removed at the end", () => {
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
  expect(f.claudeStateDir).toBe(join(f.dir, "claude-state"));
  expect(readdirSync(f.claudeStateDir)).toEqual(["tmp"]);
  if (process.getuid?.() === 0) {
    expect(statSync(f.workspaceDir).uid).toBe(65534);
    expect(statSync(f.claudeStateDir).uid).toBe(65534);
    expect(statSync(join(f.claudeStateDir, "tmp")).uid).toBe(65534);
  }
  removeSessionFiles(home, "abc123");
  expect(existsSync(f.dir)).toBe(false);
  expect(existsSync(f.workspaceDir)).toBe(true);
});

test("CLAUDE.md without a brief has no memory section", () => {
  expect(claudeMd("g", null, [])).not.toContain("Memory from earlier sessions");
});

test("what an earlier session's agent left in the Claude state is gone; links it planted are not followed", () => {
  const home = tempHome();
  const inputs = { prompt: "p", claudeMd: "c", skills: {} };
  const host = join(home, "host-secret");
  writeFileSync(host, "keep", { mode: 0o600 });
  const first = prepareSessionFiles(home, "s1", "work", "65534:65534", inputs);
  writeFileSync(join(first.claudeStateDir, "settings.json"), '{"env":{"BUN_OPTIONS":"--preload /x.js"}}');
  removeSessionFiles(home, "s1");
  // A crashed host leaves the directory behind, with a link where the core will chown tmp.
  const crashed = prepareSessionFiles(home, "s2", "work", "65534:65534", inputs);
  rmSync(join(crashed.claudeStateDir, "tmp"), { recursive: true });
  symlinkSync(host, join(crashed.claudeStateDir, "tmp"));
  symlinkSync(host, join(crashed.workspaceDir, "planted-link"));
  const next = prepareSessionFiles(home, "s2", "work", "65534:65534", inputs);
  expect(readdirSync(next.claudeStateDir)).toEqual(["tmp"]);
  expect(lstatSync(join(next.claudeStateDir, "tmp")).isDirectory()).toBe(true);
  expect(lstatSync(host).uid).toBe(process.getuid?.() ?? 0);
  expect(lstatSync(host).mode & 0o777).toBe(0o600);
  expect(readFileSync(host, "utf8")).toBe("keep");
  expect(lstatSync(join(next.workspaceDir, "planted-link")).isSymbolicLink()).toBe(true);
});

test("a symlink in the workspace's place is refused, and the host path it names keeps its owner", () => {
  const home = tempHome();
  const target = join(home, "credentials");
  mkdirSync(join(home, "data", "workspaces"), { recursive: true });
  mkdirSync(target, { recursive: true, mode: 0o700 });
  symlinkSync(target, join(home, "data", "workspaces", "work"));
  expect(() => prepareSessionFiles(home, "s", "work", "65534:65534", { prompt: "", claudeMd: "", skills: {} })).toThrow(
    /is a symbolic link.*Fix:/,
  );
  expect(lstatSync(target).uid).toBe(process.getuid?.() ?? 0);
});

test("the start-up sweep removes what crashed sessions left (links unfollowed) and keeps live ones", () => {
  const home = tempHome();
  const inputs = { prompt: "p", claudeMd: "c", skills: {} };
  const host = join(home, "host-dir");
  mkdirSync(host);
  writeFileSync(join(host, "keep"), "keep");
  const crashed = prepareSessionFiles(home, "crashed", "work", "65534:65534", inputs);
  symlinkSync(host, join(crashed.claudeStateDir, "to-host"));
  const live = prepareSessionFiles(home, "live", "work", "65534:65534", inputs);
  expect(removeStaleSessionFiles(home, new Set(["live"]))).toEqual(["crashed"]);
  expect(existsSync(crashed.dir)).toBe(false);
  expect(existsSync(live.dir)).toBe(true);
  expect(readFileSync(join(host, "keep"), "utf8")).toBe("keep");
  expect(removeStaleSessionFiles(tempHome(), new Set())).toEqual([]);
});
