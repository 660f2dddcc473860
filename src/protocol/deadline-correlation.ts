/**
 * A correlation id that also tells the core how long its caller waits, so the wire message stays
 * exactly topic/correlation/arguments. It is an RFC 9562 version 8 UUID:
 *
 *   tttttttt-tttt-8sss-Vrrr-rrrrrrrrrrrr
 *   t: 48-bit Unix time in ms when the call was first sent; s: 12-bit timeout in whole seconds
 *   (1–4095); V: the RFC variant (8–b); r: 62 random bits.
 *
 * The value is the caller's own claim: it can only make the core drop that caller's call sooner, so
 * the core uses it without trusting it for anything else. Other correlations get the core's default.
 */

const MAX_SECONDS = 0xfff;
const V8 = /^([0-9a-f]{8})-([0-9a-f]{4})-8([0-9a-f]{3})-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export function deadlineCorrelation(timeoutMs: number, nowMs = Date.now()): string {
  const seconds = Math.min(MAX_SECONDS, Math.max(1, Math.ceil(timeoutMs / 1000)));
  const time = Math.max(0, Math.floor(nowMs)).toString(16).padStart(12, "0").slice(-12);
  const random = crypto.getRandomValues(new Uint8Array(8));
  const hex = [...random].map((b) => b.toString(16).padStart(2, "0")).join("");
  const variant = (0x8 | ((random[0] ?? 0) & 0x3)).toString(16);
  return `${time.slice(0, 8)}-${time.slice(8)}-8${seconds.toString(16).padStart(3, "0")}-${variant}${hex.slice(1, 4)}-${hex.slice(4, 16)}`;
}

/**
 * Epoch ms after which the caller of `correlation` has stopped waiting. `receivedAt` bounds the
 * claimed send time (a caller cannot claim a send after the core received it); without a claim the
 * deadline is `receivedAt + defaultTimeoutMs`.
 */
export function callerDeadline(correlation: string | null, receivedAt: number, defaultTimeoutMs: number): number {
  const m = correlation === null ? null : V8.exec(correlation);
  if (!m) return receivedAt + defaultTimeoutMs;
  const sentAt = Math.min(Number.parseInt(`${m[1]}${m[2]}`, 16), receivedAt);
  return sentAt + Number.parseInt(m[3] ?? "0", 16) * 1000;
}
