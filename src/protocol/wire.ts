/**
 * The wire message: what the container sends. Untrusted, exactly three fields.
 * It deliberately carries no identity; the envelope's identity comes from session state.
 */
export interface WireMessage {
  readonly topic: string;
  readonly correlation: string;
  readonly arguments: Readonly<Record<string, unknown>>;
}

const WIRE_KEYS = new Set(["topic", "correlation", "arguments"]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type WireParse = { ok: true; wire: WireMessage } | { ok: false; field: string; reason: string };

/** Shape check of an already-parsed value. Extra keys are rejected, never merged. */
export function parseWire(value: unknown): WireParse {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, field: "", reason: "message must be a JSON object" };
  }
  for (const key of Object.keys(value)) {
    if (!WIRE_KEYS.has(key)) return { ok: false, field: `/${escapePointer(key)}`, reason: "unexpected field" };
  }
  const v = value as Record<string, unknown>;
  if (typeof v.topic !== "string" || v.topic.length === 0 || v.topic.length > 256) {
    return { ok: false, field: "/topic", reason: "topic must be a non-empty string of at most 256 characters" };
  }
  if (typeof v.correlation !== "string" || !UUID.test(v.correlation)) {
    return { ok: false, field: "/correlation", reason: "correlation must be a UUID" };
  }
  const args = v.arguments;
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    return { ok: false, field: "/arguments", reason: "arguments must be a JSON object" };
  }
  return {
    ok: true,
    wire: { topic: v.topic, correlation: v.correlation, arguments: args as Record<string, unknown> },
  };
}

export function escapePointer(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}
