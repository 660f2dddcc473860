import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { SECRET_RULES, scanText } from "../../../build/check/secrets/rules.ts";
import { REPO_ROOT, scratchRepo } from "./scratch-repo.ts";

// Fake secrets are assembled at run time so this file itself stays clean for the scan.
const join2 = (...parts: string[]) => parts.join("");
const FAKES: Record<string, string> = {
  "anthropic-key": join2("sk-ant-", "api03-", "A1b2C3d4E5f6G7h8I9j0K1l2M3n4"),
  "openai-key": join2("sk-", "proj-", "A1b2C3d4E5f6G7h8I9j0K1l2M3n4"),
  "aws-access-key": join2("AKIA", "IOSFODNN7EXAMPLE"),
  "github-token": join2("ghp_", "a".repeat(36)),
  "slack-token": join2("xoxb-", "123456789012-abcdefghij"),
  "google-api-key": join2("AIza", "B".repeat(35)),
  "private-key": join2("-----BEGIN ", "OPENSSH PRIVATE KEY-----"),
};

let repo: ReturnType<typeof scratchRepo> | undefined;
afterEach(() => repo?.remove());

function scan(root: string) {
  const r = Bun.spawnSync(["bun", join(root, "build/check/secrets/scan.ts"), root], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

function scratchGit(files: Record<string, string>) {
  repo = scratchRepo(["build/check"]);
  for (const [path, text] of Object.entries(files)) repo.write(path, text);
  Bun.spawnSync(["git", "init", "-q"], { cwd: repo.root });
  return repo.root;
}

test("every rule fires on its fixture, and words that merely look alike do not", () => {
  for (const rule of SECRET_RULES) {
    const fake = FAKES[rule.id];
    expect(fake).toBeDefined();
    const hits = scanText("f.ts", `const a = 1;\nconst key = "${fake}";\n`);
    expect(hits).toEqual([{ file: "f.ts", line: 2, rule: rule.id, what: rule.what }]);
  }
  expect(scanText("f.ts", "sk-learn-tutorial AKIA short ghp_x BEGIN PUBLIC KEY")).toEqual([]);
});

test("the scan fails on a planted key, names file and line, and never prints the key", () => {
  const key = FAKES["anthropic-key"] as string;
  const root = scratchGit({ "src/config.ts": `// setup\nexport const k = "${key}";\n` });
  const r = scan(root);
  expect(r.code).toBe(1);
  expect(r.out).toContain("src/config.ts:2: Anthropic API key");
  expect(r.out).toContain("Fix:");
  expect(r.out).not.toContain(key);
});

test("a file on the allowlist is skipped; an allowlist line without a reason is an error", () => {
  const root = scratchGit({ "tests/fake.ts": `export const k = "${FAKES["aws-access-key"]}";\n` });
  repo?.write("build/check/secrets/allowlist.txt", "tests/fake.ts  # a fake key for a test\n");
  expect(scan(root).code).toBe(0);
  repo?.write("build/check/secrets/allowlist.txt", "tests/fake.ts\n");
  const r = scan(root);
  expect(r.code).toBe(1);
  expect(r.out).toContain("gives no reason");
});

test("the repository passes its own scan", () => {
  const r = scan(REPO_ROOT);
  expect(r.out).toContain("no secrets found");
  expect(r.code).toBe(0);
});
