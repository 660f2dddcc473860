import { describe, expect, test } from "bun:test";
import { defineCommand } from "citty";
import { closest, editDistance, findUsageProblem } from "../../src/cli/strict-args.ts";

const tail = defineCommand({
  meta: { name: "tail" },
  args: {
    group: { type: "string" },
    lines: { type: "string", alias: "n", default: "20" },
    json: { type: "boolean", default: false },
    "dry-run": { type: "boolean", default: false },
  },
  run: () => undefined,
});
const call = defineCommand({
  meta: { name: "call" },
  args: { tool: { type: "positional", required: true }, arguments: { type: "positional", required: false } },
  run: () => undefined,
});
const root = defineCommand({ meta: { name: "carapace" }, subCommands: { audit: { subCommands: { tail } }, call } });

const problem = (...argv: string[]) => findUsageProblem(root, argv);

describe("strict arguments", () => {
  test("declared flags in every spelling citty accepts pass", async () => {
    for (const argv of [
      ["audit", "tail", "--group", "work", "--json"],
      ["audit", "tail", "--group=work", "-n", "5", "--no-json"],
      ["audit", "tail", "-n5", "--dry-run", "--dryRun"],
      ["call", "hello.echo", "{}"],
      ["call", "--", "-starts-with-dash"],
    ])
      expect(await problem(...argv)).toBeUndefined();
  });

  test("an unknown or misspelt flag is named with the closest declared one", async () => {
    expect(await problem("audit", "tail", "--jsno")).toMatchObject({
      path: ["audit", "tail"],
      what: "`carapace audit tail` has no option --jsno",
      fix: expect.stringContaining("did you mean --json?"),
    });
    expect((await problem("audit", "tail", "--dryrun"))?.fix).toContain("did you mean --dry-run?");
    expect((await problem("audit", "tail", "-f"))?.what).toContain("has no option -f");
    expect((await problem("audit", "tail", "--zzzzzz"))?.fix).not.toContain("did you mean");
  });

  test("a flag before a subcommand belongs to the command it follows", async () => {
    expect((await problem("--json", "audit", "tail"))?.what).toBe("`carapace` has no option --json");
  });

  test("a string flag without its value, and a positional too many, are problems; the stray word is not echoed", async () => {
    expect((await problem("audit", "tail", "--group"))?.what).toBe("--group needs a value");
    expect((await problem("audit", "tail", "--group", "--json"))?.what).toBe("--group needs a value");
    const extra = await problem("call", "t", "{}", "sk-ant-secret");
    expect(extra?.what).toBe("`carapace call` takes at most 2 (TOOL ARGUMENTS); argument 3 is one too many");
    expect(JSON.stringify(extra)).not.toContain("sk-ant-secret");
    expect((await problem("audit", "tail", "x"))?.what).toContain("takes no arguments");
  });

  test("an unknown subcommand gets a suggestion, and odd words are not echoed", async () => {
    expect(await problem("audit", "tial")).toMatchObject({
      what: "Unknown command tial",
      fix: expect.stringContaining("did you mean `carapace audit tail`?"),
    });
    expect((await problem("sk-ant-api03-XYZ"))?.what).toBe("Unknown command (not a command name)");
  });

  test("edit distance counts a swap of neighbours as one edit", () => {
    expect(editDistance("jsno", "json")).toBe(1);
    expect(editDistance("gruop", "group")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
    expect(closest("dry", ["dry-run", "yes"])).toBe("dry-run");
    expect(closest("qq", ["json"])).toBeUndefined();
  });
});
