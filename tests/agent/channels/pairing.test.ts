import { expect, test } from "bun:test";
import { codeIn, PAIRING_MAX_ATTEMPTS, PAIRING_TTL_MS, PairingCodes } from "../../../src/agent/channels/pairing.ts";

test("a code works once, within its time, and dies after too many wrong guesses", () => {
  let now = 1_000;
  const codes = new PairingCodes(() => now);
  const { code } = codes.start("telegram");
  expect(codes.claim("telegram", "WRONG234")).toBe("wrong");
  expect(codes.claim("telegram", code)).toBe("paired");
  expect(codes.claim("telegram", code)).toBe("none");

  const second = codes.start("telegram").code;
  now += PAIRING_TTL_MS;
  expect(codes.claim("telegram", second)).toBe("none");

  const third = codes.start("telegram").code;
  for (let i = 0; i < PAIRING_MAX_ATTEMPTS; i++) expect(codes.claim("telegram", "WRONG234")).toBe("wrong");
  expect(codes.claim("telegram", third)).toBe("none");
  expect(codes.isPending("telegram")).toBe(false);
});

test("the code is found in /pair CODE, /start CODE or alone; other text is not a code", () => {
  expect(codeIn("/pair abcd2345")).toBe("ABCD2345");
  expect(codeIn("/start@my_bot ABCD-2345")).toBe("ABCD2345");
  expect(codeIn("  abcd2345 ")).toBe("ABCD2345");
  expect(codeIn("hello there")).toBeNull();
  expect(codeIn("thanks")).toBeNull();
});
