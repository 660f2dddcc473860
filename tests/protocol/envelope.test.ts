import { expect, test } from "bun:test";
import { buildRequestEnvelope, mintIdentity } from "../../src/protocol/envelope.ts";

test("a request envelope's id and timestamp are made once, the time being when it was built", async () => {
  const before = Date.now();
  const envelope = buildRequestEnvelope(mintIdentity("s1", "g", "agent"), "tool.invoke.x", "c", { a: 1 });
  const after = Date.now();
  await Bun.sleep(5);
  const at = Date.parse(envelope.timestamp);
  expect(at).toBeGreaterThanOrEqual(before);
  expect(at).toBeLessThanOrEqual(after);
  expect(envelope.timestamp).toBe(new Date(at).toISOString());
  expect(envelope.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(envelope.id).toBe(envelope.id);
  const other = buildRequestEnvelope(mintIdentity("s1", "g", "agent"), "tool.invoke.x", "c", { a: 1 });
  expect(other.id).not.toBe(envelope.id);
  // Serialized and copied like any envelope: both fields are there, with the same values.
  const json = JSON.parse(JSON.stringify(envelope));
  expect(json).toMatchObject({ id: envelope.id, timestamp: envelope.timestamp, group: "g", session: "s1" });
  expect({ ...envelope }).toMatchObject({ id: envelope.id, timestamp: envelope.timestamp });
});
