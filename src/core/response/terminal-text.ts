/**
 * Makes agent- or plugin-written text safe to print on a terminal: escape sequences
 * (CSI, OSC, DCS, …), other control characters and bidirectional overrides are removed, so a record
 * cannot move the cursor, rewrite earlier lines, set the window title or hide text.
 */
// ESC-introduced sequences, with bounded parameter runs so stripping stays linear.
const ESCAPE_SEQUENCES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  /\x1b\[[0-?]{0,64}[ -/]{0,8}[@-~]?|\x1b[\]PX^_][^\x07\x1b]{0,4096}(?:\x07|\x1b\\)?|\x1b[ -/]{0,8}[0-~]?|\x9b[0-?]{0,64}[ -/]{0,8}[@-~]?/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const LINE_BREAKS = /[\t\n\r\u2028\u2029]/g;

/** Removes escape sequences and control characters; keeps tabs and newlines. */
export function stripTerminalEscapes(text: string): string {
  return text.replace(ESCAPE_SEQUENCES, "").replace(CONTROL, "");
}

/** For one-line output: like stripTerminalEscapes, and line breaks and tabs become spaces. */
export function singleLine(text: string): string {
  return stripTerminalEscapes(text).replace(LINE_BREAKS, " ");
}

/** JSON for a terminal: JSON.stringify escapes C0 controls; this also escapes C1 and bidi controls. */
export function terminalSafeJson(value: unknown): string {
  return terminalSafeJsonText(JSON.stringify(value) ?? "null");
}

/** JSON text already made (C0 escaped), with C1 and bidi controls escaped too: still the same JSON. */
export function terminalSafeJsonText(json: string): string {
  return json.replace(
    /[\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
