/**
 * The agent image holds no tools beyond bash, Claude Code, ipc and the entrypoint. A compromised model
 * looking for them with the file tool it has (Read; Claude Code 2.1 offers no Glob or Grep tool here)
 * finds nothing to run, while the session itself works on the slim image: an ipc call and Read answer.
 * tests/container/image-contents.test.ts lists the whole image.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AGENT_USER } from "../../../src/container/paths.ts";
import { HOSTILE_TIMEOUT_MS, type HostileLab, hostileSkipReason, startHostileLab, step } from "./harness.ts";

const SOUGHT = ["/usr/bin/perl", "/usr/bin/python3", "/usr/bin/cat", "/usr/bin/id", "/bin/busybox", "/usr/bin/curl"];

describe.skipIf(hostileSkipReason !== null)("hostile agent: the image has no tools to misuse", () => {
  let lab: HostileLab;
  beforeAll(async () => {
    lab = await startHostileLab();
  });
  afterAll(async () => {
    await lab?.stop();
  });

  test(
    "perl, python, coreutils and download tools are not there to find, and a session still does its work",
    async () => {
      await lab.session("slim", []);
      const notes = join(lab.workspace("slim"), "notes.md");
      writeFileSync(notes, "the needle is here\n", { mode: 0o644 });
      chownSync(notes, AGENT_USER.uid, AGENT_USER.gid);
      const run = await lab.session("slim", [
        ...SOUGHT.map((path) => step.read(path)),
        step.bash(`ipc hello.echo '{"message":"still working"}'`),
        step.read("/workspace/notes.md"),
        step.read("/usr/bin/bash"),
      ]);
      expect(run.code).toBe(0);
      SOUGHT.forEach((path, n) => {
        const exchange = run.exchange(n);
        expect({ path, isError: exchange.isError }).toEqual({ path, isError: true });
        expect(exchange.result).toContain("File does not exist");
      });
      const at = SOUGHT.length;
      expect(run.exchange(at)).toMatchObject({ name: "Bash", isError: false });
      expect(run.exchange(at).result).toContain("still working");
      expect(run.exchange(at + 1).result).toContain("the needle is here");
      // The control: a file that is there is found, so "does not exist" above is the image, not the tool.
      expect(run.exchange(at + 2).result).not.toContain("File does not exist");
    },
    HOSTILE_TIMEOUT_MS,
  );
});
