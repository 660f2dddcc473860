import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CliError, EXIT, exitCodeOf, formatError, formatMessage } from "../../src/cli/errors.ts";
import { ContainerError } from "../../src/container/errors.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { runCommand } from "../harness/run.ts";

describe("formatError", () => {
  test("formats a CliError as [COMPONENT] Error: what. Fix: how.", () => {
    const error = new CliError("CONFIG", "the file is missing", "run `carapace setup`", EXIT.usage);
    expect(formatError(error)).toBe("[CONFIG] Error: the file is missing. Fix: run `carapace setup`.");
    expect(error.message).toBe(formatError(error));
    expect(exitCodeOf(error)).toBe(2);
  });

  test("does not double the punctuation", () => {
    expect(new CliError("X", "what?", "do this.").message).toBe("[X] Error: what? Fix: do this.");
  });

  test("passes through errors of other layers that already follow the format", () => {
    const error = new ContainerError("podman is missing", "install podman");
    expect(formatError(error)).toBe("[CONTAINER] Error: podman is missing. Fix: install podman.");
    expect(exitCodeOf(error)).toBe(EXIT.failure);
  });

  test("wraps anything else without a stack", () => {
    expect(formatError(new Error("boom"))).toBe(
      "[CARAPACE] Error: boom. Fix: run the command again with --debug and report the output if it persists.",
    );
    expect(formatError("text")).toStartWith("[CARAPACE] Error: text.");
  });

  test("the exit-code convention", () => {
    expect(EXIT).toEqual({ ok: 0, failure: 1, usage: 2, transport: 3 });
  });
});

describe("an error carried up by another layer renders once", () => {
  test("a formatted message is not wrapped in a second component and fix", () => {
    const inner = formatMessage("AUTH", "the key was rejected", "store another one");
    expect(formatMessage("AGENT", inner, "see the audit log")).toBe(inner);
    expect(new CliError("AGENT", inner, "see the audit log").message).toBe(inner);
    expect(formatError(new CliError("AGENT", inner, "x"))).toBe(
      "[AUTH] Error: the key was rejected. Fix: store another one.",
    );
    expect(formatMessage("AGENT", "plain words", "do this")).toBe("[AGENT] Error: plain words. Fix: do this.");
  });
});

describe("the compiled CLI's error line", () => {
  test("an error that repeats typed input carries none of its terminal escapes", async () => {
    const { carapace } = ensureBinaries();
    const home = mkdtempSync(join(tmpdir(), "carapace-errors-"));
    try {
      const r = await runCommand([carapace, "config", "get", "bad\u001b]0;pwned\u0007key\u001b[2J"], {
        env: { PATH: process.env.PATH, HOME: home, CARAPACE_HOME: home, NO_COLOR: "1" },
      });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('[CONFIG] Error: unknown key "badkey"');
      expect(r.stderr.includes("\u001b") || r.stderr.includes("\u0007")).toBe(false);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
