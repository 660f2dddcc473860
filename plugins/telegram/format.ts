/**
 * Text as Telegram takes it. Everything is sent as plain text (no parse_mode), so nothing the agent
 * or a sender wrote can turn into markup, links or mentions; a message longer than Telegram's limit
 * is split at a paragraph, line or word boundary, never inside a surrogate pair.
 */

/** Telegram's limit for one message's text, in UTF-16 code units. */
export const MESSAGE_LIMIT = 4096;

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Where to end the next part of `text` (at most `limit` units). */
function cutAt(text: string, limit: number): number {
  if (text.length <= limit) return text.length;
  const window = text.slice(0, limit);
  for (const sep of ["\n\n", "\n", " "]) {
    const at = window.lastIndexOf(sep);
    // A boundary in the first half would make tiny parts; cut hard instead.
    if (at >= limit / 2) return at + sep.length;
  }
  return isHighSurrogate(text.charCodeAt(limit - 1)) ? limit - 1 : limit;
}

/** The parts to send, in order, each within the limit; an empty text is one "(empty answer)" part. */
export function splitMessage(text: string, limit = MESSAGE_LIMIT): string[] {
  if (text.trim() === "") return ["(empty answer)"];
  const parts: string[] = [];
  let rest = text;
  while (rest.length > 0) {
    const at = cutAt(rest, limit);
    const part = rest.slice(0, at).replace(/\s+$/, "");
    if (part !== "") parts.push(part);
    rest = rest.slice(at);
  }
  return parts;
}

/** One message's text within the limit, cut with a note when it is longer (a message with buttons cannot be split). */
export function fitOneMessage(text: string, limit = MESSAGE_LIMIT): string {
  if (text.length <= limit) return text;
  const note = "\n… (cut: the full text is in `carapace approvals show`)";
  return text.slice(0, cutAt(text, limit - note.length)) + note;
}
