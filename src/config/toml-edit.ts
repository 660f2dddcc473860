import { parse, stringify, TomlDate, TomlError, type TomlTable } from "smol-toml";
import { scanToml, TomlScanError } from "./toml-scan.ts";

/**
 * smol-toml's stringify drops comments and layout, so `config set` edits the text instead: it replaces
 * only the value of the existing `key = value` line in the right [table], or adds a line to that
 * table, or appends the table. The edited text is parsed again and must equal the intended data;
 * when it does not (dotted keys or inline tables for that table, unusual layouts), the whole file is
 * rewritten with stringify and `preserved` is false.
 */

export interface TomlEdit {
  text: string;
  /** False when the file had to be rewritten from data, losing comments and layout. */
  preserved: boolean;
}

export type TomlScalar = string | number | boolean | string[];

/** One value as TOML source, e.g. `"podman"`, `5`, `[ "a", "b" ]`. */
export function formatTomlValue(value: TomlScalar): string {
  const line = stringify({ v: value }).trim();
  return line.slice(line.indexOf("=") + 1).trim();
}

/** Key order and prototypes ignored (smol-toml builds null-prototype tables); dates by instant and form. */
function canonical(value: unknown): unknown {
  if (value instanceof TomlDate) return { date: value.toISOString() };
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    return Object.keys(value)
      .sort()
      .map((key) => [key, canonical((value as Record<string, unknown>)[key])]);
  }
  return value;
}

export function sameTomlData(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function samePath(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((segment, index) => segment === b[index]);
}

function editText(text: string, table: readonly string[], key: string, value: string): string {
  const { headers, keyValues } = scanToml(text);
  const newline = text.includes("\r\n") ? "\r\n" : "\n";
  const inTable = (header: number) => {
    const h = headers[header];
    return h !== undefined && h.kind === "table" && samePath(h.path, table);
  };
  // The key's line, also when written as a dotted key (`security.max_frame_bytes = …` at the top).
  const fullPath = [...table, key];
  const existing = keyValues.find((kv) => {
    const h = headers[kv.header];
    if (h !== undefined && h.kind !== "table") return false;
    return samePath([...(h?.path ?? []), ...kv.keyPath], fullPath);
  });
  if (existing !== undefined) {
    return text.slice(0, existing.valueStart) + value + text.slice(existing.valueEnd);
  }
  const headerIndex = headers.findIndex((_, index) => inTable(index));
  const header = headers[headerIndex];
  if (header !== undefined) {
    const lastLine = keyValues.filter((kv) => kv.header === headerIndex).at(-1);
    const at = lastLine?.lineEnd ?? header.lineEnd;
    const before = text.slice(0, at);
    const lead = before === "" || before.endsWith("\n") ? "" : newline;
    return `${before}${lead}${lastLine?.indent ?? ""}${key} = ${value}${newline}${text.slice(at)}`;
  }
  const body = text.trimEnd();
  const gap = body === "" ? "" : `${body}${newline}${newline}`;
  return `${gap}[${table.join(".")}]${newline}${key} = ${value}${newline}`;
}

/**
 * Sets `table.key` in TOML `text` to `value`. `expected` is the whole document as data after the
 * change; it is what the result must parse to.
 */
export function setTomlValue(
  text: string,
  table: readonly string[],
  key: string,
  value: TomlScalar,
  expected: TomlTable,
): TomlEdit {
  try {
    const edited = editText(text, table, key, formatTomlValue(value));
    if (sameTomlData(parse(edited), expected)) return { text: edited, preserved: true };
  } catch (error) {
    if (!(error instanceof TomlScanError) && !(error instanceof TomlError)) throw error;
  }
  return { text: stringify(expected), preserved: false };
}
