/**
 * A `plutil -lint` stand-in for Linux: the file must be well-formed XML with Apple's plist DOCTYPE, every
 * element must be what PropertyList-1.0.dtd allows where it stands (a dict alternates key and value, values
 * are array|data|date|dict|real|integer|string|true|false, scalars hold text only), and the scalars must
 * parse (an integer is an integer, a date is ISO 8601). Returns the value as JSON, or the problems.
 */
const LINT = String.raw`
import json, re, sys, xml.parsers.expat
import xml.etree.ElementTree as ET
problems = []
data = open(sys.argv[1], "rb").read()
doctype = []
p = xml.parsers.expat.ParserCreate()
p.StartDoctypeDeclHandler = lambda name, sys_id, pub_id, internal: doctype.append((name, pub_id, sys_id))
try:
    p.Parse(data, True)
    root = ET.fromstring(data)
except Exception as e:
    print(json.dumps({"problems": ["not well-formed XML: %s" % e]})); sys.exit(0)
if doctype != [("plist", "-//Apple//DTD PLIST 1.0//EN", "http://www.apple.com/DTDs/PropertyList-1.0.dtd")]:
    problems.append("missing or wrong plist DOCTYPE: %r" % doctype)
VALUES = {"array", "data", "date", "dict", "real", "integer", "string", "true", "false"}
def value(el, where):
    if el.tag not in VALUES:
        problems.append("%s: <%s> is not a plist value" % (where, el.tag)); return None
    if el.attrib:
        problems.append("%s: <%s> takes no attributes" % (where, el.tag))
    kids = list(el)
    if el.tag in ("true", "false"):
        if kids or (el.text or "").strip(): problems.append("%s: <%s/> must be empty" % (where, el.tag))
        return el.tag == "true"
    if el.tag == "array":
        if (el.text or "").strip(): problems.append("%s: text directly in <array>" % where)
        return [value(k, "%s[%d]" % (where, i)) for i, k in enumerate(kids)]
    if el.tag == "dict":
        out = {}
        if len(kids) % 2: problems.append("%s: <dict> has a key without a value" % where)
        for i in range(0, len(kids) - 1, 2):
            k, v = kids[i], kids[i + 1]
            if k.tag != "key" or list(k): problems.append("%s: expected <key>, found <%s>" % (where, k.tag)); continue
            name = k.text or ""
            if name in out: problems.append("%s: key %s twice" % (where, name))
            out[name] = value(v, "%s.%s" % (where, name))
        return out
    if kids: problems.append("%s: <%s> holds elements" % (where, el.tag))
    text = el.text or ""
    if el.tag == "integer":
        if not re.fullmatch(r"[+-]?\d+", text.strip()): problems.append("%s: %r is not an integer" % (where, text))
        else: return int(text)
    if el.tag == "real":
        try: return float(text)
        except ValueError: problems.append("%s: %r is not a real" % (where, text))
    if el.tag == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", text.strip()):
        problems.append("%s: %r is not an ISO 8601 date" % (where, text))
    return text
if root.tag != "plist" or root.attrib.get("version") != "1.0" or len(root) != 1:
    problems.append("the root must be <plist version=\"1.0\"> with one value")
    print(json.dumps({"problems": problems})); sys.exit(0)
v = value(root[0], "plist")
print(json.dumps({"problems": problems, "value": v}))
`;

export function plistLint(path: string): { problems: string[]; value?: unknown } {
  const r = Bun.spawnSync(["python3", "-c", LINT, path], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) return { problems: [`the linter failed: ${r.stderr.toString()}`] };
  return JSON.parse(r.stdout.toString()) as { problems: string[]; value?: unknown };
}

type KeyType = "string" | "string[]" | "dict<string>" | "boolean" | "integer" | "boolean|dict<boolean>";

/** The launchd.plist(5) keys the agent uses, with their types; launchd ignores (so we refuse) any other. */
const LAUNCHD_KEYS: Record<string, KeyType> = {
  Label: "string",
  ProgramArguments: "string[]",
  EnvironmentVariables: "dict<string>",
  RunAtLoad: "boolean",
  KeepAlive: "boolean|dict<boolean>",
  ThrottleInterval: "integer",
  StandardOutPath: "string",
  StandardErrorPath: "string",
  WorkingDirectory: "string",
};
const KEEPALIVE_KEYS = ["SuccessfulExit", "Crashed", "NetworkState"];

function hasType(value: unknown, type: KeyType): boolean {
  const dictOf = (pred: (v: unknown) => boolean) =>
    typeof value === "object" && value !== null && !Array.isArray(value) && Object.values(value).every(pred);
  switch (type) {
    case "string":
      return typeof value === "string" && value.length > 0;
    case "string[]":
      return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string");
    case "dict<string>":
      return dictOf((v) => typeof v === "string");
    case "boolean":
      return typeof value === "boolean";
    case "integer":
      return Number.isInteger(value);
    case "boolean|dict<boolean>":
      return (
        typeof value === "boolean" ||
        (dictOf((v) => typeof v === "boolean") && Object.keys(value as object).every((k) => KEEPALIVE_KEYS.includes(k)))
      );
  }
}

/** What launchd requires of an agent: a Label naming the file, a program to run, each key of its type. */
export function launchdProblems(value: unknown, fileName: string): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return ["the plist is not a dict"];
  const dict = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const [key, v] of Object.entries(dict)) {
    const type = LAUNCHD_KEYS[key];
    if (!type) problems.push(`unknown launchd key ${key}`);
    else if (!hasType(v, type)) problems.push(`${key} must be ${type}`);
  }
  if (typeof dict.Label !== "string") problems.push("Label is required");
  else if (`${dict.Label}.plist` !== fileName)
    problems.push(`the file of Label ${dict.Label} must be ${dict.Label}.plist`);
  if (!("ProgramArguments" in dict)) problems.push("ProgramArguments is required");
  return problems;
}
