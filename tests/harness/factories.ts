import { CallAbort, type CallContext } from "../../src/core/pipeline/context.ts";
import type { ToolEntry } from "../../src/plugins/catalog.ts";
import { mintIdentity, type SessionIdentity } from "../../src/protocol/envelope.ts";
import { DEFAULT_LIMITS, type Limits } from "../../src/protocol/limits.ts";
import type { WireMessage } from "../../src/protocol/wire.ts";

/**
 * Typed factories for unit tests (the test kit of issue 10). More live beside this file and are
 * gathered in kit.ts: manifests, sessions, envelopes and reply frames, the memory SQLite.
 */
export function identity(group = "test", sessionId = "s1", source = "test"): SessionIdentity {
  return mintIdentity(sessionId, group, source);
}

export function wireMessage(overrides: Partial<WireMessage> = {}): WireMessage {
  return { topic: "tool.invoke.t.echo", correlation: crypto.randomUUID(), arguments: { message: "hi" }, ...overrides };
}

export function limits(overrides: Partial<Limits> = {}): Limits {
  return { ...DEFAULT_LIMITS, ...overrides };
}

export function tool(overrides: Partial<ToolEntry> = {}): ToolEntry {
  return {
    name: "t.echo",
    description: "echo",
    risk_level: "low",
    plugin: "t",
    allowed_groups: ["*"],
    available: () => true,
    arguments_schema: {
      type: "object",
      properties: { message: { type: "string" } },
      required: ["message"],
      additionalProperties: false,
    },
    invoke: (args) => ({ echoed: args.message }),
    ...overrides,
  };
}

export function callContext(body: unknown, overrides: Partial<CallContext> = {}): CallContext {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  return {
    identity: identity(),
    raw: new TextEncoder().encode(raw),
    limits: limits(),
    cancel: new CallAbort(),
    trace: () => {},
    onPendingConfirmation: () => {},
    ...overrides,
  };
}
