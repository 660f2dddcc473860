import { expect, test } from "bun:test";
import { Glob } from "bun";
import { REPO_ROOT } from "./scratch-repo.ts";

// Code and test names cite docs/ARCHITECTURE.md or docs/THREAT_MODEL.md (in the repository), or
// nothing: never a design document outside it, nor a task id that means nothing to a newcomer.
const OUTSIDE_CITATION = /DESIGN\.md|\b(?:SEC|ENG|QA)-\d+\b/;

test("no code, rule or test cites a document outside the repository or a task id", async () => {
  const found: string[] = [];
  for (const pattern of ["{src,plugins,tests,build,rules,examples}/**/*.{ts,sh,yml}", "container/*"]) {
    for await (const path of new Glob(pattern).scan({ cwd: REPO_ROOT, onlyFiles: true })) {
      if (path.startsWith("build/.generated") || path === "tests/build/check/citations.test.ts") continue;
      const lines = (await Bun.file(`${REPO_ROOT}/${path}`).text()).split("\n");
      lines.forEach((line, i) => {
        if (OUTSIDE_CITATION.test(line)) found.push(`${path}:${i + 1}: ${line.trim()}`);
      });
    }
  }
  // container/entrypoint.sh is part of the image recipe digest; its comment changes with the next recipe change.
  expect(found.filter((f) => !f.startsWith("container/entrypoint.sh:"))).toEqual([]);
});
