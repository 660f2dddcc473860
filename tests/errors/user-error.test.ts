import { expect, test } from "bun:test";
import { EgressConfigError } from "../../src/agent/egress-policy.ts";
import { ConfigError } from "../../src/config/config-error.ts";
import { ContainerError } from "../../src/container/errors.ts";
import { EXIT, fixOf, formatMessage, headlineOf, UserError, whatOf } from "../../src/errors/user-error.ts";
import { ReleaseError } from "../../src/release/errors.ts";
import { StorageError } from "../../src/storage/storage-error.ts";

test("the message has one form: component, what happened, what to do", () => {
  const error = new UserError("HOME", "the home is a file", "remove it", EXIT.usage);
  expect(error.message).toBe("[HOME] Error: the home is a file. Fix: remove it.");
  expect([error.component, error.what, error.fix, error.exitCode]).toEqual([
    "HOME",
    "the home is a file",
    "remove it",
    EXIT.usage,
  ]);
});

test("an already formatted error carried up renders as it is, not nested", () => {
  expect(formatMessage("AGENT", "[AUTH] Error: no key. Fix: run setup.", "ignored")).toBe(
    "[AUTH] Error: no key. Fix: run setup.",
  );
});

test("every layer's user-facing error is a UserError with its own component", () => {
  const errors: [UserError, string][] = [
    [new ContainerError("no runtime", "install Podman"), "CONTAINER"],
    [new ReleaseError("bad checksum", "download again"), "RELEASE"],
    [new StorageError("INVALID_NAME", "MEMORY", "bad name.", "use letters."), "MEMORY"],
    [new EgressConfigError("upstream not allowed", "add it"), "EGRESS"],
    [new ConfigError("network", "bad url", "fix it"), "CONFIG"],
  ];
  for (const [error, component] of errors) {
    expect(error).toBeInstanceOf(UserError);
    expect(error.component).toBe(component);
    expect(error.message.startsWith(`[${component}] Error: `)).toBe(true);
  }
});

test("the parts are read from the error, never parsed from its text", () => {
  const error = new ContainerError("no runtime", "install Podman");
  expect(headlineOf(error)).toBe("[CONTAINER] Error: no runtime.");
  expect(whatOf(error)).toBe("no runtime.");
  expect(fixOf(error, "fallback")).toBe("install Podman.");
  const plain = new Error("[X] Error: looks formatted. Fix: but is not a UserError.");
  expect(headlineOf(plain)).toBe(plain.message);
  expect(whatOf(plain)).toBe(plain.message);
  expect(fixOf(plain, "fallback")).toBe("fallback");
  expect(whatOf("a string")).toBe("a string");
});
