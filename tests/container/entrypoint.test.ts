/** container/entrypoint.sh run on the host with a stand-in `claude` that reports what it received. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ENTRYPOINT = join(import.meta.dir, "../../container/entrypoint.sh");
let dir: string;
let claude: string;
let prompt: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ep-"));
  claude = join(dir, "claude");
  prompt = join(dir, "prompt.md");
  writeFileSync(prompt, "summarise my day\n");
  writeFileSync(
    claude,
    [
      "#!/bin/sh",
      'echo "pid=$$"',
      'echo "args=$*"',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
      'echo "key=${ANTHROPIC_API_KEY:-}${CLAUDE_CODE_OAUTH_TOKEN:-}"',
      'echo "stdin=$(cat)"',
      "",
    ].join("\n"),
  );
  chmodSync(claude, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(stdin: string, args: string[] = ["-p"], env: Record<string, string> = {}) {
  const proc = Bun.spawn(["bash", ENTRYPOINT, ...args], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: "/usr/bin:/bin", CARAPACE_CLAUDE_BIN: claude, CARAPACE_PROMPT_FILE: prompt, ...env },
  });
  // A refusal before the entrypoint reads stdin closes the pipe under this write: that is not the test's failure.
  try {
    proc.stdin.write(stdin);
    await proc.stdin.end();
  } catch {}
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { out, err, code, pid: proc.pid };
}

describe("entrypoint stdin protocol", () => {
  test("exports the token under the allowed name and execs claude (same pid) with the prompt on stdin", async () => {
    const r = await run("ANTHROPIC_API_KEY\nsess-tok_123.abc\n", ["-p", "--verbose"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain(`pid=${r.pid}`);
    expect(r.out).toContain("args=-p --verbose");
    expect(r.out).toContain("key=sess-tok_123.abc");
    expect(r.out).toContain("stdin=summarise my day");
  });

  test("accepts the OAuth token name and a final line without newline", async () => {
    const r = await run("CLAUDE_CODE_OAUTH_TOKEN\ntok");
    expect(r.code).toBe(0);
    expect(r.out).toContain("key=tok");
  });

  test("nothing after the two lines reaches claude: its stdin is the prompt file", async () => {
    const r = await run("ANTHROPIC_API_KEY\ntok\nextra line an attacker hoped claude would read\n");
    expect(r.out).toContain("stdin=summarise my day");
    expect(r.out).not.toContain("attacker");
  });

  for (const [what, stdin, message] of [
    ["a name outside the allowlist", "PATH\n/evil\n", /credential name 'PATH' is not allowed/],
    ["an empty value", "ANTHROPIC_API_KEY\n\n", /value for ANTHROPIC_API_KEY is empty/],
    ["missing stdin", "", /stdin ended before the credential name/],
    ["a missing value line", "ANTHROPIC_API_KEY\n", /stdin ended before the credential value/],
    ["a value with shell metacharacters", "ANTHROPIC_API_KEY\n$(touch /tmp/x)\n", /characters a token cannot have/],
    ["an over-long value", `ANTHROPIC_API_KEY\n${"a".repeat(5000)}\n`, /longer than 4096 bytes/],
  ] as const) {
    test(`rejects ${what} with exit 64 and an actionable error`, async () => {
      const r = await run(stdin);
      expect(r.code).toBe(64);
      expect(r.err).toMatch(message);
      expect(r.err).toMatch(/^\[ENTRYPOINT\] Error: .*\. Fix: .*\.\n$/);
      expect(r.out).toBe("");
    });
  }

  test("refuses arguments that would bypass permissions", async () => {
    const r = await run("ANTHROPIC_API_KEY\ntok\n", ["-p", "--dangerously-skip-permissions"]);
    expect(r.code).toBe(64);
    expect(r.err).toContain("would bypass the permission lockdown");
  });

  test("refuses to start without the prompt file", async () => {
    const r = await run("ANTHROPIC_API_KEY\ntok\n", ["-p"], { CARAPACE_PROMPT_FILE: join(dir, "missing.md") });
    expect(r.code).toBe(64);
    expect(r.err).toContain("prompt file");
  });

  test("a pre-started container refuses to keep its token anywhere but its own tmpfs", async () => {
    const onDisk = mkdtempSync(join(dir, "token-"));
    const r = await run("ANTHROPIC_API_KEY\ntok\n", ["-p"], { CARAPACE_PRESTARTED: "1", CARAPACE_TOKEN_DIR: onDisk });
    expect(r.code).toBe(64);
    expect(r.err).toMatch(/^\[ENTRYPOINT\] Error: .* is not a tmpfs of this container\. Fix: .*\.\n$/);
    expect(r.out).toBe("");
  });

  test("a pre-started container refuses the flags it sets itself", async () => {
    const r = await run("ANTHROPIC_API_KEY\ntok\n", ["-p", "--settings", "{}"], { CARAPACE_PRESTARTED: "1" });
    expect(r.code).toBe(64);
    expect(r.err).toContain("is the entrypoint's own in a pre-started container");
  });
});
