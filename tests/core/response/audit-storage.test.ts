import { expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileAuditStorage } from "../../../src/core/response/audit-storage.ts";

test("opening something that is not a regular file for appending fails and leaks no handle", async () => {
  const dir = mkdtempSync("/tmp/cpas-");
  try {
    await expect(fileAuditStorage.openAppend("/dev/null")).rejects.toThrow("not a regular file");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an atomic replace onto a directory fails and removes its temporary file", async () => {
  const dir = mkdtempSync("/tmp/cpas-");
  try {
    const target = join(dir, "head");
    mkdirSync(join(target, "occupied"), { recursive: true });
    await expect(fileAuditStorage.replaceAtomically(target, "x")).rejects.toThrow();
    expect(existsSync(`${target}.tmp`)).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("write then sync appends durably", async () => {
  const dir = mkdtempSync("/tmp/cpas-");
  try {
    const h = await fileAuditStorage.openAppend(join(dir, "log"));
    await h.write(new TextEncoder().encode("a\n"));
    await h.sync();
    await h.close();
    expect(await Bun.file(join(dir, "log")).text()).toBe("a\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("commit makes the writes durable, then replaces the head (on the commit thread)", async () => {
  const dir = mkdtempSync("/tmp/cpas-");
  try {
    const h = await fileAuditStorage.openAppend(join(dir, "log"));
    await h.write(new TextEncoder().encode("a\n"));
    await h.commit?.(join(dir, "head"), '{"seq":1}\n');
    await h.write(new TextEncoder().encode("b\n"));
    await h.commit?.(join(dir, "head"), '{"seq":2}\n');
    await h.close();
    expect(await Bun.file(join(dir, "log")).text()).toBe("a\nb\n");
    expect(await Bun.file(join(dir, "head")).text()).toBe('{"seq":2}\n');
    expect(existsSync(join(dir, "head.tmp"))).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a commit whose head cannot be written fails with the errno code and leaves no temporary file", async () => {
  const dir = mkdtempSync("/tmp/cpas-");
  try {
    const h = await fileAuditStorage.openAppend(join(dir, "log"));
    await h.write(new TextEncoder().encode("a\n"));
    await expect(h.commit?.(join(dir, "missing", "head"), "x")).rejects.toMatchObject({ code: "ENOENT" });
    const target = join(dir, "occupied");
    mkdirSync(join(target, "child"), { recursive: true });
    await expect(h.commit?.(target, "x")).rejects.toThrow();
    expect(existsSync(`${target}.tmp`)).toBe(false);
    await h.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
