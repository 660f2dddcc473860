/**
 * The public repository's CI workflow stays a thin wrapper over .ci/run (it cannot run here): its only
 * commands install git and the README's Node + npm, check out without keeping credentials, and run `bash .ci/run`, which runs the
 * fast checks and the README's test command.
 */
import { expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "../..");

type Step = { run?: string; uses?: string; with?: Record<string, unknown> };
type Workflow = { permissions: Record<string, string>; jobs: Record<string, { steps: Step[] }> };

test("the workflow's steps are a checkout and `bash .ci/run`, with read-only permissions", () => {
  const workflow = Bun.YAML.parse(readFileSync(join(root, ".github/workflows/ci.yml"), "utf8")) as Workflow;
  expect(workflow.permissions).toEqual({ contents: "read" });
  const steps = Object.values(workflow.jobs).flatMap((j) => j.steps);
  expect(steps.map((s) => s.run ?? s.uses)).toEqual([
    "apt-get update && apt-get install -y --no-install-recommends git ca-certificates nodejs npm",
    "actions/checkout@v4",
    "bash .ci/run",
  ]);
  expect(steps[1]?.with).toEqual({ "persist-credentials": false });
});

test(".ci/run is executable and runs the fast checks and the README's test command", () => {
  const path = join(root, ".ci/run");
  expect(statSync(path).mode & 0o111).not.toBe(0);
  const script = readFileSync(path, "utf8");
  expect(script).toContain("bash build/check/all.sh");
  expect(script).toContain("bash build/test.sh");
});

test("the CI container starts from the README's machine: the packages setup-dev.sh needs before it runs", () => {
  const workflow = Bun.YAML.parse(readFileSync(join(root, ".github/workflows/ci.yml"), "utf8")) as Workflow & {
    jobs: Record<string, { container?: { image: string } }>;
  };
  const job = Object.values(workflow.jobs)[0];
  expect(job?.container?.image).toBe("debian:bookworm");
  const installed = (job?.steps[0]?.run ?? "").split(" ");
  const setup = readFileSync(join(root, "build/setup-dev.sh"), "utf8");
  // setup-dev.sh installs Bun with npm and runs its postinstall with node; a bare Debian image has neither.
  expect(setup).toContain("npm install -g bun@");
  expect(installed).toContain("nodejs");
  expect(installed).toContain("npm");
});
