import { createHash } from "node:crypto";
import { escapePointer } from "../protocol/wire.ts";
import { canonicalJson } from "./response/audit-record.ts";
import { terminalSafeJson } from "./response/terminal-text.ts";

export { canonicalJson };

/**
 * What a person approves: the canonical form of one request (keys sorted at every level), its hash,
 * and every argument leaf as its own field. Long values are cut per field with their full length
 * stated, so a padded first field cannot push another one out of sight.
 */

/** One leaf of the arguments: its JSON pointer, a terminal-safe preview, and how long it really is. */
export interface ArgumentField {
  path: string;
  preview: string;
  /** Characters of the value's JSON text (strings: of the string itself). */
  length: number;
  cut: boolean;
}

export const FIELD_PREVIEW_CHARS = 80;
const PATH_PREVIEW_CHARS = 80;

/** The hash a decision is bound to: the tool and its canonical arguments. */
export function requestHash(tool: string, canonicalArguments: string): string {
  return createHash("sha256").update(tool).update("\u0000").update(canonicalArguments).digest("hex");
}

function cutText(text: string, max: number): { text: string; cut: boolean } {
  return text.length > max ? { text: `${text.slice(0, max - 1)}…`, cut: true } : { text, cut: false };
}

function leafField(path: string, value: unknown): ArgumentField {
  const shownPath = cutText(path === "" ? "/" : path, PATH_PREVIEW_CHARS).text;
  if (typeof value === "string") {
    const shown = cutText(value, FIELD_PREVIEW_CHARS);
    return {
      path: terminalSafeJson(shownPath).slice(1, -1),
      preview: terminalSafeJson(shown.text),
      length: value.length,
      cut: shown.cut,
    };
  }
  const json = canonicalJson(value);
  const shown = cutText(json, FIELD_PREVIEW_CHARS);
  return {
    path: terminalSafeJson(shownPath).slice(1, -1),
    preview: terminalSafeJson(shown.text).slice(1, -1),
    length: json.length,
    cut: shown.cut,
  };
}

/** Every leaf of the arguments in canonical (sorted) order; empty objects and arrays are leaves too. */
export function argumentFields(args: unknown): ArgumentField[] {
  const fields: ArgumentField[] = [];
  const visit = (value: unknown, path: string) => {
    if (typeof value === "object" && value !== null) {
      const entries = Array.isArray(value)
        ? value.map((v, i) => [String(i), v] as const)
        : Object.keys(value)
            .sort()
            .map((k) => [k, (value as Record<string, unknown>)[k]] as const);
      if (entries.length === 0) fields.push(leafField(path, value));
      for (const [k, v] of entries) visit(v, `${path}/${escapePointer(k)}`);
      return;
    }
    fields.push(leafField(path, value));
  };
  visit(args, "");
  return fields;
}

/** One line for a notice: every field, each cut on its own. */
export function fieldsSummary(fields: readonly ArgumentField[]): string {
  if (fields.length === 1 && fields[0]?.path === "/" && fields[0].preview === "{}") return "{}";
  return fields.map((f) => `${f.path}=${f.preview}${f.cut ? ` (${f.length} chars, cut)` : ""}`).join("  ");
}
