import { describe, expect, test } from "bun:test";
import { parse, type TomlTable } from "smol-toml";
import { formatTomlValue, sameTomlData, setTomlValue, type TomlScalar } from "../../src/config/toml-edit.ts";
import { scanToml } from "../../src/config/toml-scan.ts";

function set(text: string, table: string[], key: string, value: TomlScalar) {
  const expected = structuredClone(parse(text)) as Record<string, Record<string, unknown>>;
  let node: Record<string, unknown> = expected;
  for (const segment of table) {
    node[segment] ??= {};
    node = node[segment] as Record<string, unknown>;
  }
  node[key] = value;
  return setTomlValue(text, table, key, value, expected as TomlTable);
}

const COMMENTED = `# Carapace config — my notes
[security] # limits
# frames from the agent
max_frame_bytes = 2048 # tuned for tests
  rate_limit_burst = 4

[network]
upstream_allowlist = [
  "a.example:443", # first
  "b.example:443",
]

# work stuff
[groups.work]
policy = "queue" # default anyway
`;

describe("setTomlValue", () => {
  test("replaces only the value of an existing line", () => {
    const r = set(COMMENTED, ["security"], "max_frame_bytes", 4096);
    expect(r.preserved).toBe(true);
    expect(r.text).toBe(COMMENTED.replace("max_frame_bytes = 2048 #", "max_frame_bytes = 4096 #"));
  });

  test("replaces a multi-line array as a whole", () => {
    const r = set(COMMENTED, ["network"], "upstream_allowlist", ["c.example:1"]);
    expect(r.preserved).toBe(true);
    expect(r.text).toContain('upstream_allowlist = [ "c.example:1" ]\n\n# work stuff');
    expect(r.text).toContain("# Carapace config — my notes\n[security] # limits");
  });

  test("adds a new key after the last key of its table, with that line's indentation", () => {
    const r = set(COMMENTED, ["security"], "handler_timeout_ms", 1000);
    expect(r.preserved).toBe(true);
    expect(r.text).toContain("  rate_limit_burst = 4\n  handler_timeout_ms = 1000\n\n[network]");
  });

  test("adds a key to an empty table right after its header", () => {
    const r = set('[hello]\n\n[logging]\nlevel = "warn"\n', ["hello"], "enabled", false);
    expect(r).toEqual({ text: '[hello]\nenabled = false\n\n[logging]\nlevel = "warn"\n', preserved: true });
  });

  test("appends a missing table at the end", () => {
    const r = set(COMMENTED, ["groups", "home"], "policy", "reject");
    expect(r.preserved).toBe(true);
    expect(r.text).toBe(`${COMMENTED}\n[groups.home]\npolicy = "reject"\n`);
    expect(set("", ["hello"], "enabled", true).text).toBe("[hello]\nenabled = true\n");
    expect(set("# only a comment", ["hello"], "enabled", true).text).toBe(
      "# only a comment\n\n[hello]\nenabled = true\n",
    );
  });

  test("edits dotted keys in place", () => {
    const r = set("security.max_frame_bytes = 5000 # dotted\n", ["security"], "max_frame_bytes", 6000);
    expect(r).toEqual({ text: "security.max_frame_bytes = 6000 # dotted\n", preserved: true });
  });

  test("keeps CRLF line endings", () => {
    const r = set("[hello]\r\nenabled = true\r\n", ["logging"], "level", "warn");
    expect(r.text).toBe('[hello]\r\nenabled = true\r\n\r\n[logging]\r\nlevel = "warn"\r\n');
  });

  test("is not fooled by brackets, quotes and '=' inside strings and multi-line strings", () => {
    const text = `[runtime]
image = "x[y]=z # not a comment"
notes = """
[security]
max_frame_bytes = 1
"""
[security]
max_frame_bytes = 2
`;
    const r = set(text, ["security"], "max_frame_bytes", 3);
    expect(r.preserved).toBe(true);
    expect(r.text).toBe(text.replace("max_frame_bytes = 2", "max_frame_bytes = 3"));
  });

  test("falls back to a full rewrite for inline tables and says so", () => {
    const r = set("# gone\nsecurity = { max_frame_bytes = 5000 }\n", ["security"], "rate_limit_burst", 2);
    expect(r.preserved).toBe(false);
    expect(r.text).not.toContain("# gone");
    expect(parse(r.text)).toEqual({ security: { max_frame_bytes: 5000, rate_limit_burst: 2 } });
  });

  test("formats values as TOML", () => {
    expect(formatTomlValue('a"b')).toBe('"a\\"b"');
    expect(formatTomlValue(["x", "y"])).toBe('[ "x", "y" ]');
    expect(formatTomlValue([])).toBe("[]");
    expect(formatTomlValue(false)).toBe("false");
    expect(formatTomlValue(12)).toBe("12");
  });

  test("compares data regardless of key order and prototypes", () => {
    expect(sameTomlData(parse("a = 1\nb = 2"), { b: 2, a: 1 })).toBe(true);
    expect(sameTomlData(parse("a = [1, 2]"), { a: [2, 1] })).toBe(false);
  });
});

describe("scanToml", () => {
  test("finds headers and key/value offsets", () => {
    const text = '[a]\nx = 1 # c\n[[b]]\ny = "2"\n';
    const scanned = scanToml(text);
    expect(scanned.headers.map((h) => [h.kind, h.path])).toEqual([
      ["table", ["a"]],
      ["array-table", ["b"]],
    ]);
    const [x, y] = scanned.keyValues;
    expect(text.slice(x?.valueStart, x?.valueEnd)).toBe("1");
    expect(text.slice(y?.valueStart, y?.valueEnd)).toBe('"2"');
    expect(y?.header).toBe(1);
  });

  test("reads quoted keys", () => {
    const scanned = scanToml('[ "groups" . work ]\n"policy" = "queue"\n');
    expect(scanned.headers[0]?.path).toEqual(["groups", "work"]);
    expect(scanned.keyValues[0]?.keyPath).toEqual(["policy"]);
  });
});
