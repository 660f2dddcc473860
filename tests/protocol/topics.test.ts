import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EVENT_TOPICS } from "../../src/protocol/topics.ts";

/** The topics docs/ARCHITECTURE.md lists in its Events table, in order. */
function documentedTopics(): string[] {
  const doc = readFileSync(join(import.meta.dir, "../../docs/ARCHITECTURE.md"), "utf8");
  const section = doc.split("## Events")[1]?.split("\n## ")[0] ?? "";
  return section
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .flatMap((line) => [...(line.split("|")[1] ?? "").matchAll(/`([a-z_.]+)`/g)].map((m) => m[1] ?? ""));
}

describe("event topics", () => {
  test("docs/ARCHITECTURE.md documents exactly the topics the core knows", () => {
    expect(documentedTopics().sort()).toEqual([...EVENT_TOPICS].sort());
  });
});
