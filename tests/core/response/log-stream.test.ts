import { afterEach, expect, test } from "bun:test";
import { configureLogStream, logLine } from "../../../src/core/response/log-stream.ts";

const KEY = ["sk-ant-", "api03-", "Qw1Er2Ty3Ui4Op5As6Df7Gh8Jk9"].join("");
let out: string[] = [];
const capture = (format: "json" | "pretty", level: "debug" | "info" | "warn" | "error" = "info") => {
  out = [];
  configureLogStream({ format, level, write: (t) => out.push(t) });
};
const json = () => out.map((l) => JSON.parse(l) as Record<string, string>);
afterEach(() => configureLogStream({ format: "json", level: "info", write: (t) => process.stderr.write(t) }));

test("a raw source (the agent's stderr) is sanitized and its terminal escapes stripped, one JSON line per line", () => {
  capture("json");
  logLine(`boom \u001b[2J\u001b]0;title\u0007 ${KEY}\nsecond line\n`, { component: "agent 1234abcd" });
  const lines = json();
  expect(lines.map((l) => (l.msg ?? "").startsWith("boom") || l.msg === "second line")).toEqual([true, true]);
  const text = out.join("");
  expect(text).not.toContain("\\u001b");
  expect(text).not.toContain("\\u0007");
  expect(text).not.toContain(KEY);
  expect(lines[0]).toMatchObject({ level: "info", component: "agent 1234abcd" });
});

test("the component tag and the level come from the line; the configured level drops lower ones", () => {
  capture("json", "warn");
  logLine("[AUDIT] Error: disk full. Fix: free space.");
  logLine("[plugin probe] warn: careful");
  logLine("[CORE] just info");
  logLine("trace line", { level: "debug", component: "trace" });
  expect(json().map((l) => [l.level, l.component, l.msg])).toEqual([
    ["error", "AUDIT", "[AUDIT] Error: disk full. Fix: free space."],
    ["warn", "plugin probe", "[plugin probe] warn: careful"],
  ]);
});

test("pretty format keeps the tag and is defused the same way", () => {
  capture("pretty", "debug");
  logLine(`\u001b[31m${KEY}\u001b[0m`, { component: "agent x" });
  expect(out.join("")).not.toContain("\u001b");
  expect(out.join("")).toStartWith("[agent x] ");
  expect(out.join("")).not.toContain(KEY);
});
