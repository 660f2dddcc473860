import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chatLoop, parseChatLine } from "../../src/cli/chat.ts";
import { askApproval } from "../../src/cli/chat-approval.ts";
import { SyncLineReader } from "../../src/cli/line-reader.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { type RunningCore, startCore, tempHome } from "../harness/core.ts";
import { runCommand } from "../harness/run.ts";

/** A reader over scripted chunks, as a pipe or terminal would deliver them. */
function readerOf(chunks: (string | "EAGAIN")[]): SyncLineReader {
  const queue = [...chunks];
  return new SyncLineReader(0, (_fd, into) => {
    const next = queue.shift();
    if (next === undefined) return 0;
    if (next === "EAGAIN") throw Object.assign(new Error("again"), { code: "EAGAIN" });
    return into.write(next);
  });
}

describe("reading lines", () => {
  test("lines split across chunks, CRLF, a last line without a break, and waits for more input", () => {
    const r = readerOf(["first\r\nsec", "EAGAIN", "ond\n\nthird ü"]);
    expect([r.next(), r.next(), r.next(), r.next(), r.next()]).toEqual(["first", "second", "", "third ü", null]);
  });

  test("a read error other than 'try again' is not swallowed", () => {
    const r = new SyncLineReader(0, () => {
      throw Object.assign(new Error("bad fd"), { code: "EBADF" });
    });
    expect(() => r.next()).toThrow("bad fd");
  });
});

describe("chat lines", () => {
  test("slash commands, blank lines and turns", () => {
    expect(parseChatLine("/new")).toEqual({ kind: "new" });
    expect(parseChatLine("  /exit  ")).toEqual({ kind: "exit" });
    expect(parseChatLine("/quit")).toEqual({ kind: "exit" });
    expect(parseChatLine("/help")).toEqual({ kind: "help" });
    expect(parseChatLine("/system do as I say")).toEqual({ kind: "unknown" });
    expect(parseChatLine("   ")).toEqual({ kind: "skip" });
    expect(parseChatLine("hello /new")).toEqual({ kind: "turn", text: "hello /new" });
  });
});

describe("carapace chat through the compiled binary", () => {
  let core: RunningCore;
  beforeAll(async () => {
    core = await startCore();
  });
  afterAll(async () => {
    await core.stop();
  });

  test("commands and blank lines send nothing; /exit ends with 0", async () => {
    const r = await core.carapace(["chat", "--group", "g"], { stdin: "\n/help\n/bogus\n/new\n/exit\nnot sent\n" });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("[chat] unknown command.");
    expect(r.stderr).toContain("[chat] a new conversation starts with your next message.");
    expect(r.stderr).not.toContain("[chat] conversation ");
  });

  test("an id that is not an open conversation of the group ends the chat with 1", async () => {
    const r = await core.carapace(["chat", "--group", "g", "--conversation", "0".repeat(20)], { stdin: "hi\nagain\n" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`[CONVERSATION] Error: no open conversation "${"0".repeat(20)}" in group g.`);
    expect(r.stderr.match(/\[CONVERSATION\] Error/g)).toHaveLength(1);
  });

  test("usage errors exit 2 before anything is sent", async () => {
    for (const args of [
      ["chat", "--conversation", "../x"],
      ["chat", "--group", "Bad Group"],
      ["prompt", "hi", "--conversation", "nope"],
    ]) {
      const r = await core.carapace(args, { stdin: "hi\n" });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/\[(CHAT|PROMPT)\] Error: .* Fix: /);
    }
  });

  test("without a running core the chat says so and exits 3", async () => {
    const home = tempHome();
    const r = await runCommand([ensureBinaries().carapace, "chat"], {
      env: { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, NO_COLOR: "1" },
      stdin: "hello\n",
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("[CORE] Error: the core is not running.");
  });
});

describe("the chat loop and inline approvals against the compiled core", () => {
  let core: RunningCore;
  const written: string[] = [];
  const realWrite = process.stderr.write.bind(process.stderr);
  beforeAll(async () => {
    core = await startCore();
  });
  afterAll(async () => {
    await core.stop();
  });
  /** Runs `fn` with stderr captured (what the REPL tells the person). */
  function captured(fn: () => unknown): string {
    written.length = 0;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      fn();
    } finally {
      process.stderr.write = realWrite;
    }
    return written.join("");
  }
  const confirmation = {
    kind: "confirmation" as const,
    id: "c0ffee",
    tool: "mail.send",
    summary: "to=bob",
    fields: [{ path: "to", preview: '"bob@example.com"', length: 17, cut: false }],
    request_hash: "ab".repeat(32),
  };

  test("an approval answer is asked again until it is yes or no; the core's refusal is shown", () => {
    const said = captured(() => askApproval(core.home, confirmation, readerOf(["maybe\nyes\n"]), false));
    expect(said).toContain("[chat] the agent wants to run high-risk tool mail.send with these arguments:");
    expect(said).toContain('to = "bob@example.com"');
    expect(said).toContain('[chat] answer "yes" or "no"');
    expect(said).toContain("[APPROVALS] Error: no pending confirmation with that id.");
    expect(said).not.toContain("[chat] approved");
  });

  test("an empty line, the end of input or three wrong answers leave the call waiting", () => {
    for (const chunks of [["\n"], [], ["a\nb\nc\n"]]) {
      const said = captured(() => askApproval(core.home, confirmation, readerOf(chunks), false));
      expect(said).toContain("[chat] left waiting: carapace approve c0ffee   or   carapace deny c0ffee");
    }
  });

  test("the loop stops at a conversation the core does not know, and says what to do", () => {
    let thrown: unknown;
    captured(() => {
      try {
        chatLoop(core.home, "g", "f".repeat(20), readerOf(["/help\nhello\n"]));
      } catch (error) {
        thrown = error;
      }
    });
    expect(String((thrown as Error).message)).toContain(`no open conversation "${"f".repeat(20)}" in group g`);
    expect(written.join("")).toContain("[chat] group g, continuing conversation ffffffffffffffffffff.");
  });
});
