import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  CredentialError,
  checkCredentialDir,
  deleteCredential,
  type Finding,
  listCredentials,
  readCredential,
  writeCredential,
} from "../../src/config/credentials.ts";
import { ensureHome } from "../../src/config/home.ts";
import { tempHome } from "./temp-home.ts";

const isRoot = process.getuid?.() === 0;
let t: ReturnType<typeof tempHome>;
let dir: string;
beforeEach(() => {
  t = tempHome();
  ensureHome(t.home);
  dir = join(t.home, "credentials");
});
afterEach(() => t.cleanup());

const failures = (findings: Finding[]) => findings.filter((f) => f.level === "fail");
const byCheck = (findings: Finding[], check: string) => findings.find((f) => f.check === check);

describe("writeCredential / readCredential", () => {
  test("round-trips a value byte for byte in a 0600 file", () => {
    writeCredential(t.home, "anthropic.api_key", "sk-ant-secret\n");
    expect(readCredential(t.home, "anthropic.api_key")).toBe("sk-ant-secret\n");
    expect(statSync(join(dir, "anthropic.api_key")).mode & 0o777).toBe(0o600);
    writeCredential(t.home, "anthropic.api_key", "rotated");
    expect(readCredential(t.home, "anthropic.api_key")).toBe("rotated");
    expect(readdirSync(dir)).toEqual(["anthropic.api_key"]);
  });

  test("a missing credential reads as null; list and delete", () => {
    expect(readCredential(t.home, "absent")).toBeNull();
    writeCredential(t.home, "b", "2");
    writeCredential(t.home, "a", "1");
    writeFileSync(join(dir, ".hidden"), "x", { mode: 0o600 });
    expect(listCredentials(t.home)).toEqual(["a", "b"]);
    expect(deleteCredential(t.home, "a")).toBe(true);
    expect(deleteCredential(t.home, "a")).toBe(false);
    expect(listCredentials(t.home)).toEqual(["b"]);
  });

  test("creates the directory with 0700 when it is missing", () => {
    const other = join(t.root, "fresh");
    writeCredential(other, "k", "v");
    expect(statSync(join(other, "credentials")).mode & 0o777).toBe(0o700);
  });

  test("key names are validated", () => {
    for (const bad of ["../x", "a/b", "", ".hidden", "UPPER", "a b", "x".repeat(65)]) {
      expect(() => writeCredential(t.home, bad, "v")).toThrow(CredentialError);
      expect(() => readCredential(t.home, bad)).toThrow(/is not a valid credential name/);
    }
  });

  test("errors never contain the value", () => {
    writeCredential(t.home, "token", "sk-very-secret-value");
    chmodSync(join(dir, "token"), 0o644);
    let message = "";
    try {
      readCredential(t.home, "token");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("mode 0644");
    expect(message).not.toContain("sk-very-secret-value");
  });
});

describe("refusals", () => {
  test("a symlinked credential file is refused, not followed", () => {
    const target = join(t.root, "elsewhere");
    writeFileSync(target, "outside", { mode: 0o600 });
    symlinkSync(target, join(dir, "linked"));
    expect(() => readCredential(t.home, "linked")).toThrow(/symbolic link/);
    expect(listCredentials(t.home)).toEqual([]);
    const finding = byCheck(checkCredentialDir(t.home), "credentials.file-symlink");
    expect(finding?.level).toBe("fail");
    expect(finding?.fix).toContain(`rm ${join(dir, "linked")}`);
    // Writing replaces the link instead of writing through it.
    writeCredential(t.home, "linked", "new");
    expect(Bun.file(target).size).toBe("outside".length);
  });

  test("a 0755 credentials directory fails the check and refuses reads and writes", () => {
    writeCredential(t.home, "k", "v");
    chmodSync(dir, 0o755);
    const finding = byCheck(checkCredentialDir(t.home), "credentials.dir-mode");
    expect(finding).toEqual({
      check: "credentials.dir-mode",
      level: "fail",
      message: `${dir} has mode 0755; it must be 0700 so no one else can list or read it`,
      fix: `chmod 700 ${dir}`,
    });
    expect(() => readCredential(t.home, "k")).toThrow(/\[CREDENTIALS\] Error: .*0755.*Fix: chmod 700/);
    expect(() => writeCredential(t.home, "k2", "v")).toThrow(CredentialError);
  });

  test("a 0644 credential file fails the check and is not read", () => {
    writeCredential(t.home, "k", "v");
    chmodSync(join(dir, "k"), 0o644);
    const finding = byCheck(checkCredentialDir(t.home), "credentials.file-mode");
    expect(finding?.level).toBe("fail");
    expect(finding?.fix).toBe(`chmod 600 ${join(dir, "k")}`);
    expect(() => readCredential(t.home, "k")).toThrow(/must be 0600/);
  });

  test("a symlinked credentials directory is refused", () => {
    const real = join(t.root, "real-creds");
    mkdirSync(real, { mode: 0o700 });
    const moved = join(t.root, "moved");
    mkdirSync(moved);
    symlinkSync(real, join(moved, "credentials"));
    expect(byCheck(checkCredentialDir(moved), "credentials.dir-symlink")?.level).toBe("fail");
    expect(() => readCredential(moved, "k")).toThrow(/symbolic link/);
  });

  test.skipIf(!isRoot)("files and directories owned by another user are refused", () => {
    writeCredential(t.home, "k", "v");
    chownSync(join(dir, "k"), 65534, 65534);
    expect(byCheck(checkCredentialDir(t.home), "credentials.file-owner")?.message).toContain("owned by uid 65534");
    expect(() => readCredential(t.home, "k")).toThrow(/owned by uid 65534/);
    chownSync(dir, 65534, 65534);
    expect(byCheck(checkCredentialDir(t.home), "credentials.dir-owner")?.level).toBe("fail");
  });

  test("non-files and invalid names are warnings", () => {
    mkdirSync(join(dir, "subdir"));
    writeFileSync(join(dir, "Bad Name"), "x", { mode: 0o600 });
    const findings = checkCredentialDir(t.home);
    expect(byCheck(findings, "credentials.file-type")?.level).toBe("warn");
    expect(byCheck(findings, "credentials.file-name")?.level).toBe("warn");
    expect(failures(findings)).toEqual([]);
  });
});

describe("checkCredentialDir", () => {
  test("a secure directory passes", () => {
    writeCredential(t.home, "a", "1");
    const findings = checkCredentialDir(t.home);
    expect(failures(findings)).toEqual([]);
    expect(byCheck(findings, "credentials.dir")?.level).toBe("pass");
  });

  test("a missing directory passes (ensureHome creates it)", () => {
    expect(failures(checkCredentialDir(join(t.root, "none")))).toEqual([]);
  });

  test("running as root is a warning, never a failure", () => {
    const root = byCheck(checkCredentialDir(t.home), "process.root");
    expect(root?.level).toBe(isRoot ? "warn" : "pass");
  });
});
