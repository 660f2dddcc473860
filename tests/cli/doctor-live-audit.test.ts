import { expect, test } from "bun:test";
import { liveAuditChecks } from "../../src/cli/doctor.ts";

test("doctor --live warns when the running core could not write audit records", () => {
  expect(liveAuditChecks({ running: true, unwritten_audit_records: 0 })).toEqual([]);
  const [check] = liveAuditChecks({ running: true, unwritten_audit_records: 3 });
  expect(check?.level).toBe("warn");
  expect(check?.detail).toBe("3 audit record(s) could not be written since the core started");
});

test("a core that does not report the count gets no audit check", () => {
  expect(liveAuditChecks({ running: true })).toEqual([]);
  expect(liveAuditChecks(null)).toEqual([]);
});
