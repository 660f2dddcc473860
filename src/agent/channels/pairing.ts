/**
 * One-time pairing codes: `carapace channel pair <channel>` asks the core for one, and the owner
 * sends it to the bot in a private chat. A code expires after a few minutes, works once, and dies
 * after a few wrong guesses; it is compared in constant time (hashes of equal length).
 */
import { createHash, randomInt, timingSafeEqual } from "node:crypto";

export const PAIRING_TTL_MS = 10 * 60_000;
export const PAIRING_MAX_ATTEMPTS = 5;
/** No 0/O, 1/I/L: a code read off a terminal and typed on a phone. */
const ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LENGTH = 8;

interface Pending {
  digest: Buffer;
  expiresAt: number;
  attempts: number;
}

export type ClaimOutcome = "paired" | "wrong" | "none";

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** The code a text carries: `/pair CODE`, `/start CODE`, or a bare 8-character word; case ignored. */
export function codeIn(text: string): string | null {
  const command = /^\s*\/(?:pair|start)(?:@\w+)?\s+([A-Za-z0-9-]{1,32})\s*$/.exec(text);
  if (command?.[1]) return command[1].replaceAll("-", "").toUpperCase();
  const bare = /^\s*([A-Za-z0-9]{8})\s*$/.exec(text);
  return bare?.[1] ? bare[1].toUpperCase() : null;
}

export class PairingCodes {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A fresh code for `channel`, replacing any earlier one. */
  start(channel: string): { code: string; expiresAt: number } {
    let code = "";
    for (let i = 0; i < CODE_LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
    const expiresAt = this.now() + PAIRING_TTL_MS;
    this.pending.set(channel, { digest: digest(code), expiresAt, attempts: 0 });
    return { code, expiresAt };
  }

  isPending(channel: string): boolean {
    const p = this.pending.get(channel);
    if (p && p.expiresAt <= this.now()) this.pending.delete(channel);
    return this.pending.has(channel);
  }

  expiresAt(channel: string): number | null {
    return this.isPending(channel) ? (this.pending.get(channel)?.expiresAt ?? null) : null;
  }

  /** Checks a candidate; a match is used up, and so is the code after too many wrong ones. */
  claim(channel: string, candidate: string): ClaimOutcome {
    if (!this.isPending(channel)) return "none";
    const p = this.pending.get(channel) as Pending;
    if (timingSafeEqual(digest(candidate), p.digest)) {
      this.pending.delete(channel);
      return "paired";
    }
    p.attempts++;
    if (p.attempts >= PAIRING_MAX_ATTEMPTS) this.pending.delete(channel);
    return "wrong";
  }

  cancel(channel: string): void {
    this.pending.delete(channel);
  }
}
