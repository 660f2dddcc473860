import { describe, expect, test } from "bun:test";
import { attackReportText } from "../../../src/doctor/attack/report.ts";

describe("doctor --attack report", () => {
  const step = (id: string, verdict: "refused" | "contained" | "LEAKED" | "inconclusive") => ({
    id,
    title: `${id} title`,
    verdict,
    evidence: `evidence of ${id}\nsecond line \u001b[31mred\u001b[0m`,
  });

  test("one line per step with verdict, id and title, the evidence below it on one line without escapes", () => {
    const text = attackReportText({ ok: true, steps: [step("a", "refused"), step("b", "contained")] });
    expect(text).toContain("refused      a: a title\n             evidence of a second line red\n");
    expect(text).toContain("contained    b: b title\n");
    expect(text).toContain("Result: every one of 2 steps was refused or contained.");
    expect(text).not.toContain("\u001b");
  });

  test("a leak is named in the summary; inconclusive steps are not passed; the session's error is shown", () => {
    expect(attackReportText({ ok: false, steps: [step("a", "LEAKED"), step("b", "refused")] })).toContain(
      "Result: LEAKED in 1 of 2 steps.",
    );
    const unclear = attackReportText({
      ok: false,
      steps: [step("a", "inconclusive")],
      sessionError: "the agent exited with code 1",
    });
    expect(unclear).toContain("Result: 1 of 1 steps could not be judged");
    expect(unclear).toContain("The session reported: the agent exited with code 1");
  });
});
