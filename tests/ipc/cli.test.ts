import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { errorObject } from "../../src/protocol/errors.ts";
import { DEFAULT_LIMITS } from "../../src/protocol/limits.ts";
import { parseWire } from "../../src/protocol/wire.ts";
import { tempHome } from "../harness/core.ts";
import { replyFrame } from "../harness/envelope-factory.ts";
import { runIpcBinary } from "../harness/ipc.ts";
import { correlationOf, type ScriptedRouter, scriptedRouter } from "../harness/scripted-router.ts";

const TOOL_ERROR = errorObject("VALIDATION_FAILED", "text is too long", { field: "/text" });

/** A fake core: kit.ok echoes, kit.fail errors, kit.slow heartbeats then answers, anything else is ignored. */
let core: ScriptedRouter;
beforeAll(() => {
  core = scriptedRouter((req, answer) => {
    const correlation = correlationOf(req);
    const topic = req.body?.topic;
    if (topic === "tool.invoke.kit.ok") answer(replyFrame.result(correlation, { topic, got: req.body?.arguments }));
    if (topic === "tool.invoke.kit.fail") answer(replyFrame.error(correlation, TOOL_ERROR));
    if (topic === "tool.invoke.kit.slow") {
      answer(replyFrame.heartbeat(correlation, 3_000), 100);
      answer(replyFrame.result(correlation, "late but fine"), 2_500);
    }
  });
});
afterAll(() => core.close());

const ipc = (argv: string[], options: { stdin?: string; env?: Record<string, string> } = {}) =>
  runIpcBinary(argv, { ...options, env: { CARAPACE_SOCKET: core.socket, ...(options.env ?? {}) } });

describe("ipc argument parsing", () => {
  test("a bare tool name and tool.invoke.<tool> send the same topic", async () => {
    const bare = await ipc(["kit.ok", '{"text":"a"}']);
    const full = await ipc(["tool.invoke.kit.ok", '{"text":"b"}']);
    expect(bare.code).toBe(0);
    expect(full.code).toBe(0);
    expect(bare.json).toEqual({ topic: "tool.invoke.kit.ok", got: { text: "a" } });
    expect(full.json).toEqual({ topic: "tool.invoke.kit.ok", got: { text: "b" } });
  });

  test("`-` and a missing JSON argument read the arguments from stdin; empty stdin is {}", async () => {
    const dash = await ipc(["kit.ok", "-"], { stdin: '{"from":"dash"}' });
    const missing = await ipc(["kit.ok"], { stdin: '{"from":"stdin"}' });
    const empty = await ipc(["kit.ok"], { stdin: "" });
    expect(dash.json?.got).toEqual({ from: "dash" });
    expect(missing.json?.got).toEqual({ from: "stdin" });
    expect(empty.json?.got).toEqual({});
  });

  test("every request on the wire is a well-formed wire message", async () => {
    const before = core.requests.length;
    await ipc(["kit.ok", '{"n":1}']);
    const seen = core.requests.slice(before);
    expect(seen).toHaveLength(1);
    expect(parseWire(seen[0]?.body).ok).toBe(true);
  });

  const usageErrors: [string, string[], string][] = [
    ["no arguments", [], "missing tool name"],
    ["too many arguments", ["kit.ok", "{}", "extra"], "too many arguments"],
    ["an unknown option", ["--bogus"], "unknown option --bogus"],
    ["invalid JSON", ["kit.ok", "{nope"], "arguments are not valid JSON"],
    ["a JSON array", ["kit.ok", "[1,2]"], "arguments must be a JSON object"],
    ["a JSON string", ["kit.ok", '"text"'], "arguments must be a JSON object"],
  ];
  for (const [what, argv, message] of usageErrors) {
    test(`${what} is a usage error (exit 2, message on stderr, nothing sent)`, async () => {
      const before = core.requests.length;
      const r = await ipc(argv);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(`[IPC] Error: ${message}`);
      expect(r.stderr).toContain("Fix:");
      expect(r.json).toBeNull();
      expect(core.requests.length).toBe(before);
    });
  }

  test("parse errors of argv print the usage text on stderr", async () => {
    const r = await ipc(["kit.ok", "{}", "extra"]);
    expect(r.stderr).toContain("Usage: ipc <tool|tool.invoke.tool>");
    expect(r.stderr).toContain("Exit codes:");
  });

  test("--help and -h print the usage on stdout and exit 0", async () => {
    for (const flag of ["--help", "-h"]) {
      const r = await runIpcBinary([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toStartWith("Usage: ipc ");
      expect(r.stderr).toBe("");
    }
  });

  test("--version prints the package version", async () => {
    const r = await runIpcBinary(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`ipc ${pkg.version}\n`);
  });
});

describe("ipc exit codes and output", () => {
  test("0: the result as one JSON line on stdout, nothing on stderr", async () => {
    const r = await ipc(["kit.ok", '{"text":"hi"}']);
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith("\n")).toBe(true);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toBe("");
  });

  test("1: the error object as JSON on stderr, nothing on stdout", async () => {
    const r = await ipc(["kit.fail", "{}"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.json).toEqual({ ...TOOL_ERROR });
  });

  test("2: CARAPACE_SOCKET missing or empty", async () => {
    for (const env of [{}, { CARAPACE_SOCKET: "" }] as Record<string, string>[]) {
      const r = await runIpcBinary(["kit.ok", "{}"], { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("[IPC] Error: CARAPACE_SOCKET is not set");
    }
  });

  test("3: no socket at CARAPACE_SOCKET", async () => {
    const r = await runIpcBinary(["kit.ok", "{}"], { env: { CARAPACE_SOCKET: "/tmp/cph-none/request.sock" } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("[IPC] Error: no session socket at /tmp/cph-none/request.sock");
    expect(r.stdout).toBe("");
  });

  test("3: a socket that never answers, after CARAPACE_IPC_TIMEOUT_MS", async () => {
    const before = core.requests.length;
    const r = await ipc(["kit.ignored", "{}"], { env: { CARAPACE_IPC_TIMEOUT_MS: "700" } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("[IPC] Error: no reply within 0.7 s. Fix:");
    expect(r.ms).toBeGreaterThanOrEqual(650);
    // Gave up on the configured 0.7 s, not the 35 s default.
    expect(r.ms).toBeLessThan(DEFAULT_LIMITS.ipcTimeoutMs);
    // Read (and ignored) exactly once: no resend before the 5 s resend interval.
    expect(core.requests.length - before).toBe(1);
  });

  test("3: a path that is not a listening socket, after the timeout", async () => {
    const dir = tempHome();
    const stale = join(dir, "request.sock");
    writeFileSync(stale, "");
    const r = await runIpcBinary(["kit.ok", "{}"], { env: { CARAPACE_SOCKET: stale, CARAPACE_IPC_TIMEOUT_MS: "300" } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("no reply within");
  });

  test("a heartbeat keeps ipc waiting past its timeout", async () => {
    // The heartbeat comes 0.1 s after the request, well inside the 1.5 s timeout even on a loaded machine;
    // the answer comes 2.5 s after it, past that timeout.
    const r = await ipc(["kit.slow", "{}"], { env: { CARAPACE_IPC_TIMEOUT_MS: "1500" } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('"late but fine"\n');
    expect(r.ms).toBeGreaterThanOrEqual(2_450);
  });
});
