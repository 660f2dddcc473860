import { expect, test } from "bun:test";
import { recipeImageTag, repoVersion } from "../../../build/image/agent.ts";
import { agentImageTag, recipeDigest } from "../../../src/container/image.ts";
import { runCommand } from "../../harness/run.ts";

test("the test image tag is the release tag plus the recipe digest, so different recipes never share a tag", async () => {
  expect(recipeImageTag()).toBe(`${agentImageTag(repoVersion())}-${recipeDigest().slice(0, 12)}`);
  const printed = await runCommand(["bun", `${import.meta.dir}/../../../build/image/agent.ts`, "--print-recipe-tag"], {
    env: process.env,
  });
  expect(printed.code).toBe(0);
  expect(printed.stdout.trim()).toBe(recipeImageTag());
});
