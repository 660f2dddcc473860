/**
 * A layout-preserving scanner for TOML documents: it finds table headers and `key = value` lines with
 * their exact character offsets so one value can be replaced without touching anything else. It
 * assumes the text already parsed with smol-toml; toml-edit.ts re-parses every edit to confirm it.
 */

export interface TableHeader {
  kind: "table" | "array-table";
  path: string[];
  /** Offset just past the header line (after its newline, or the end of the text). */
  lineEnd: number;
}

export interface KeyValueLine {
  /** The header this line belongs to (index into headers), or -1 before the first header. */
  header: number;
  keyPath: string[];
  /** Whitespace before the key on its line. */
  indent: string;
  valueStart: number;
  valueEnd: number;
  lineEnd: number;
}

export interface ScannedToml {
  headers: TableHeader[];
  keyValues: KeyValueLine[];
}

export class TomlScanError extends Error {}

const BARE_KEY = /[A-Za-z0-9_-]/;

export function scanToml(text: string): ScannedToml {
  const headers: TableHeader[] = [];
  const keyValues: KeyValueLine[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw new TomlScanError(`${what} at offset ${i}`);
  };
  const skipBlank = () => {
    while (i < text.length && /[ \t]/.test(text[i] as string)) i++;
  };
  /** Past optional whitespace and comment, then the newline. */
  const finishLine = (): number => {
    skipBlank();
    if (text[i] === "#") while (i < text.length && text[i] !== "\n") i++;
    if (text[i] === "\r") i++;
    if (i < text.length && text[i] !== "\n") fail("unexpected text after a value");
    if (i < text.length) i++;
    return i;
  };
  const readKey = (): string[] => {
    const parts: string[] = [];
    for (;;) {
      skipBlank();
      const c = text[i];
      if (c === '"' || c === "'") {
        const end = scanString(text, i);
        const raw = text.slice(i, end);
        parts.push(c === "'" ? raw.slice(1, -1) : unescapeBasic(raw));
        i = end;
      } else {
        const start = i;
        while (i < text.length && BARE_KEY.test(text[i] as string)) i++;
        if (i === start) fail("expected a key");
        parts.push(text.slice(start, i));
      }
      skipBlank();
      if (text[i] !== ".") return parts;
      i++;
    }
  };

  while (i < text.length) {
    const c = text[i] as string;
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      i++;
      continue;
    }
    if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    if (c === "[") {
      const isArray = text[i + 1] === "[";
      i += isArray ? 2 : 1;
      const path = readKey();
      if (text[i] !== "]" || (isArray && text[i + 1] !== "]")) fail("unterminated table header");
      i += isArray ? 2 : 1;
      headers.push({ kind: isArray ? "array-table" : "table", path, lineEnd: finishLine() });
      continue;
    }
    const lineStart = text.lastIndexOf("\n", i - 1) + 1;
    const indent = text.slice(lineStart, i);
    const keyPath = readKey();
    if (text[i] !== "=") fail("expected =");
    i++;
    skipBlank();
    const valueStart = i;
    i = scanValue(text, i);
    const valueEnd = i;
    keyValues.push({ header: headers.length - 1, keyPath, indent, valueStart, valueEnd, lineEnd: finishLine() });
  }
  return { headers, keyValues };
}

function unescapeBasic(quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return quoted.slice(1, -1);
  }
}

/** End offset (exclusive) of the string starting at `start` (any of the four TOML string forms). */
export function scanString(text: string, start: number): number {
  const quote = text[start] as string;
  const triple = text.startsWith(quote.repeat(3), start);
  let i = start + (triple ? 3 : 1);
  while (i < text.length) {
    const c = text[i];
    if (c === "\\" && quote === '"') {
      i += 2;
      continue;
    }
    if (triple) {
      if (text.startsWith(quote.repeat(3), i)) {
        i += 3;
        // Up to two quotes may sit just before the closing delimiter: """a""""" ends after all five.
        for (let extra = 0; extra < 2 && text[i] === quote; extra++) i++;
        return i;
      }
    } else {
      if (c === "\n") break;
      if (c === quote) return i + 1;
    }
    i++;
  }
  throw new TomlScanError(`unterminated string at offset ${start}`);
}

/** End offset (exclusive) of the value starting at `start`, without trailing whitespace or comment. */
export function scanValue(text: string, start: number): number {
  const c = text[start];
  if (c === '"' || c === "'") return scanString(text, start);
  if (c === "[" || c === "{") {
    let depth = 0;
    let i = start;
    while (i < text.length) {
      const d = text[i];
      if (d === '"' || d === "'") {
        i = scanString(text, i);
        continue;
      }
      if (d === "#") {
        while (i < text.length && text[i] !== "\n") i++;
        continue;
      }
      if (d === "[" || d === "{") depth++;
      else if (d === "]" || d === "}") {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    throw new TomlScanError(`unterminated array or table at offset ${start}`);
  }
  let i = start;
  while (i < text.length && text[i] !== "#" && text[i] !== "\n" && text[i] !== "\r") i++;
  while (i > start && (text[i - 1] === " " || text[i - 1] === "\t")) i--;
  if (i === start) throw new TomlScanError(`missing value at offset ${start}`);
  return i;
}
