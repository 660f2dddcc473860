import { afterEach, expect, test } from "bun:test";
import { runScript, scratchRepo } from "./scratch-repo.ts";

const SCRIPT = "build/check/rules.sh";
const RULE_FILES = [SCRIPT, "sgconfig.yml", "rules", "tests/rules"];
let repo: ReturnType<typeof scratchRepo> | undefined;
afterEach(() => repo?.remove());

const CLEAN = 'export function find(db: { query(sql: string): unknown }) {\n  return db.query("SELECT 1");\n}\n';
const STRING_SQL = `export function find(db: any, id: string) {\n  return db.query(\`SELECT * FROM t WHERE id = \${id}\`);\n}\n`;

test("passes on clean source", () => {
  repo = scratchRepo(RULE_FILES);
  repo.write("src/find.ts", CLEAN);
  const { exitCode, output } = runScript(repo.root, SCRIPT);
  expect(output).toContain("[RULES] ok: 7 rules, no findings in src");
  expect(exitCode).toBe(0);
});

test("fails on a finding in plugins/ and names the rule", () => {
  repo = scratchRepo(RULE_FILES);
  repo.write("src/find.ts", CLEAN);
  repo.write("plugins/notes/handler.ts", STRING_SQL);
  const { exitCode, output } = runScript(repo.root, SCRIPT);
  expect(output).toContain("plugins/notes/handler.ts:2:10: error[no-string-built-sql]");
  expect(exitCode).toBe(1);
});

test("fails on a manifest schema that is not closed", () => {
  repo = scratchRepo(RULE_FILES);
  repo.write(
    "plugins/notes/manifest.json",
    '{ "tools": [{ "arguments_schema": { "type": "object", "properties": { "q": { "type": "string" } } } }] }\n',
  );
  const { exitCode, output } = runScript(repo.root, SCRIPT);
  expect(output).toContain("error[schema-closed-json]");
  expect(exitCode).toBe(1);
});

test("a suppression with rule id and reason silences the finding", () => {
  repo = scratchRepo(RULE_FILES);
  repo.write(
    "src/find.ts",
    STRING_SQL.replace(
      "  return",
      "  // ast-grep-ignore: no-string-built-sql -- id is validated as a UUID above\n  return",
    ),
  );
  const { exitCode } = runScript(repo.root, SCRIPT);
  expect(exitCode).toBe(0);
});

test("a suppression without a reason fails", () => {
  repo = scratchRepo(RULE_FILES);
  repo.write("src/find.ts", STRING_SQL.replace("  return", "  // ast-grep-ignore: no-string-built-sql\n  return"));
  const { exitCode, output } = runScript(repo.root, SCRIPT);
  expect(output).toContain("[RULES] Error: suppression without a rule id or reason.");
  expect(exitCode).toBe(1);
});

test("fails when a rule stops matching its own test cases", () => {
  repo = scratchRepo(RULE_FILES);
  repo.write("src/find.ts", CLEAN);
  repo.write(
    "tests/rules/no-direct-database-test.yml",
    'id: no-direct-database\nvalid:\n  - "const db = new Database(path);"\ninvalid: []\n',
  );
  const { exitCode, output } = runScript(repo.root, SCRIPT);
  expect(output).toContain("[RULES] Error: a rule no longer matches its own test cases.");
  expect(exitCode).toBe(1);
});
