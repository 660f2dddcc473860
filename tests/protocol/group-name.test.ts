import { expect, test } from "bun:test";
import { GROUP_NAME_PATTERN as CONFIG_PATTERN } from "../../src/config/keys.ts";
import { GROUP_NAME, GROUP_NAME_PATTERN, isGroupName } from "../../src/protocol/group-name.ts";

test("one group-name rule: lowercase, 1-32 characters, starting with a letter or digit", () => {
  for (const name of ["work", "a", "0", "home-2", "a_b", "x".repeat(32)]) expect(isGroupName(name)).toBe(true);
  for (const name of ["", "_x", "-x", "Work", "a.b", "a/b", "x".repeat(33), "ü"]) expect(isGroupName(name)).toBe(false);
  expect(isGroupName(7)).toBe(false);
});

test("config.toml's schema uses the same rule as sessions", () => {
  expect(CONFIG_PATTERN).toBe(GROUP_NAME_PATTERN);
  expect(new RegExp(CONFIG_PATTERN).source).toBe(GROUP_NAME.source);
});
