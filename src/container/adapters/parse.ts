/** Defensive readers for runtime CLI JSON, whose shapes differ between runtimes and versions. */
export type Json = Record<string, unknown>;

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Parses either a JSON array or newline-delimited JSON objects (docker's `{{json .}}`). */
export function parseJsonRecords(text: string): Json[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  const whole = parseJson(trimmed);
  if (Array.isArray(whole)) return whole.filter(isObject);
  if (isObject(whole)) return [whole];
  return trimmed
    .split("\n")
    .map((line) => parseJson(line))
    .filter(isObject);
}

export function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function obj(value: unknown): Json {
  return isObject(value) ? value : {};
}

export function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

export function strList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  if (typeof value === "string" && value) return [value];
  return [];
}

/** Labels arrive as an object (podman, inspect) or as "k=v,k2=v2" (docker ps). */
export function labelMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value === "string") {
    for (const pair of value.split(",")) {
      const eq = pair.indexOf("=");
      if (eq > 0) out[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    return out;
  }
  for (const [k, v] of Object.entries(obj(value))) if (typeof v === "string") out[k] = v;
  return out;
}
