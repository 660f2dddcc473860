import { expect, test } from "bun:test";
import { runCall } from "../../src/core/call-runner.ts";
import { compose } from "../../src/core/pipeline/compose.ts";
import { construct } from "../../src/core/pipeline/construct.ts";
import { CallAbort } from "../../src/core/pipeline/context.ts";
import { dispatch } from "../../src/core/pipeline/dispatch.ts";
import { frameLimits, readFrame } from "../../src/core/pipeline/frame-limits.ts";
import { topicWhitelist } from "../../src/core/pipeline/topic.ts";
import type { AuditLog } from "../../src/core/response/audit-log.ts";
import type { AuditEntry } from "../../src/core/response/audit-record.ts";
import { Catalog } from "../../src/plugins/catalog.ts";
import { identity, limits, tool } from "../harness/factories.ts";

/** An audit log that writes the intent and fails every record after it. */
function failingAfterIntent(): { audit: AuditLog; kinds: string[] } {
  const kinds: string[] = [];
  const audit = {
    append: (entry: AuditEntry) => {
      kinds.push(entry.kind);
      return entry.kind === "intent" ? Promise.resolve({}) : Promise.reject(new Error("disk full"));
    },
    appendEvent: () => Promise.resolve(),
  } as unknown as AuditLog;
  return { audit, kinds };
}

for (const [what, result, records] of [
  ["one outcome record", { done: true }, ["intent", "routed"]],
  [
    "an outcome and a sanitized record",
    { token: "Bearer abcdefghijklmnopqrstuvwxyz0123456789" },
    ["intent", "routed", "sanitized"],
  ],
] as const)
  test(`a tool that ran but whose outcome could not be recorded (${what}) is answered as an error never to retry`, async () => {
    let ran = 0;
    const catalog = new Catalog();
    catalog.register(
      tool({
        name: "t.effect",
        invoke: () => {
          ran++;
          return result;
        },
      }),
    );
    const { audit, kinds } = failingAfterIntent();
    const pipeline = compose([frameLimits, construct, topicWhitelist(catalog), dispatch]);
    const raw = new TextEncoder().encode(
      JSON.stringify({ topic: "tool.invoke.t.effect", correlation: crypto.randomUUID(), arguments: { message: "x" } }),
    );
    const outcome = await runCall(pipeline, audit, {
      identity: identity(),
      raw,
      frame: readFrame(raw, limits()),
      limits: limits(),
      cancel: new CallAbort(),
      onPendingConfirmation: () => {},
      trace: () => {},
    });
    expect(ran).toBe(1);
    expect(kinds).toEqual([...records]);
    expect(outcome.result).toBeUndefined();
    expect(outcome.error).toMatchObject({ code: "PLUGIN_ERROR", retriable: false });
    expect(outcome.error?.message).toContain("do not retry");
  });
