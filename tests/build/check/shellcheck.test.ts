import { afterEach, expect, test } from "bun:test";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { runScript, scratchRepo } from "./scratch-repo.ts";

const SCRIPT = "build/check/shellcheck.sh";
let repo: ReturnType<typeof scratchRepo> | undefined;
afterEach(() => repo?.remove());

test("passes on clean scripts and names how many it checked", () => {
  repo = scratchRepo([SCRIPT]);
  repo.write("container/entrypoint.sh", '#!/bin/sh\nset -eu\nexec "$@"\n');
  const { exitCode, output } = runScript(repo.root, SCRIPT);
  expect(output).toContain("[SHELLCHECK] ok: 2 scripts clean");
  expect(exitCode).toBe(0);
});

test("fails on a warning in a script found by its shebang alone (no .sh suffix)", () => {
  repo = scratchRepo([SCRIPT]);
  repo.write(".ci/run", "#!/usr/bin/env bash\nfiles=$(ls)\necho $files\n");
  chmodSync(join(repo.root, ".ci/run"), 0o755);
  const { exitCode, output } = runScript(repo.root, SCRIPT);
  expect(output).toContain(".ci/run:3:6: note: Double quote to prevent globbing and word splitting. [SC2086]");
  expect(output).toContain("[SHELLCHECK] Error: shellcheck findings above. Fix:");
  expect(exitCode).toBe(1);
});

test("leaves files of other languages alone", () => {
  repo = scratchRepo([SCRIPT]);
  repo.write("build/tool.py", "#!/usr/bin/env python3\nprint( 'x' )\n");
  repo.write("install.sh", '#!/bin/sh\nprintf "%s\\n" ok\n');
  const { exitCode, output } = runScript(repo.root, SCRIPT);
  expect(output).toContain("2 scripts clean: build/check/shellcheck.sh install.sh");
  expect(exitCode).toBe(0);
});
