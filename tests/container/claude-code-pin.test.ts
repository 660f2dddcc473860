import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLAUDE_CODE_INTEGRITY, fileIntegrity } from "../../src/container/claude-code-pin.ts";
import { CLAUDE_CODE_VERSION, claudeCodePackage, fetchClaudeCode } from "../../src/container/image.ts";

/** A loopback npm registry serving one self-consistent (but not the pinned) Claude Code tarball. */
describe("Claude Code is fetched only when it matches its pinned integrity", () => {
  const work = mkdtempSync(join(tmpdir(), "carapace-claude-pin-"));
  const name = claudeCodePackage("x64");
  let server: ReturnType<typeof Bun.serve>;
  let tarballIntegrity = "";
  const npmArgs = () => ["--registry", `http://127.0.0.1:${server.port}/`, "--cache", join(work, "npm-cache")];

  beforeAll(() => {
    const pkg = join(work, "src/package");
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ name, version: CLAUDE_CODE_VERSION }));
    writeFileSync(join(pkg, "claude"), "#!/bin/sh\necho tampered\n");
    const tgz = join(work, "claude.tgz");
    expect(Bun.spawnSync(["tar", "-czf", tgz, "-C", join(work, "src"), "package"]).exitCode).toBe(0);
    tarballIntegrity = fileIntegrity(tgz);
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        const url = new URL(req.url);
        if (url.pathname.endsWith(".tgz")) return new Response(readFileSync(tgz));
        const dist = { tarball: `http://127.0.0.1:${server.port}/claude.tgz`, integrity: tarballIntegrity };
        return Response.json({
          name,
          "dist-tags": { latest: CLAUDE_CODE_VERSION },
          versions: { [CLAUDE_CODE_VERSION]: { name, version: CLAUDE_CODE_VERSION, dist } },
        });
      },
    });
  });
  afterAll(() => {
    server.stop(true);
    rmSync(work, { recursive: true, force: true });
  });

  test("both architectures are pinned by a sha512 integrity", () => {
    for (const arch of ["x64", "arm64"]) expect(CLAUDE_CODE_INTEGRITY[arch]).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
  });

  test("a registry serving other bytes than the pinned ones is refused and nothing is unpacked", async () => {
    const cache = join(work, "cache-refused");
    await expect(fetchClaudeCode(CLAUDE_CODE_VERSION, cache, { arch: "x64", npmArgs: npmArgs() })).rejects.toThrow(
      "does not match its pinned integrity",
    );
    const dir = join(cache, CLAUDE_CODE_VERSION, "x64");
    expect(existsSync(join(dir, "claude"))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  test("the same fetch path unpacks a tarball that matches the integrity it is given", async () => {
    const cache = join(work, "cache-ok");
    const claude = await fetchClaudeCode(CLAUDE_CODE_VERSION, cache, {
      arch: "x64",
      integrity: tarballIntegrity,
      npmArgs: npmArgs(),
    });
    expect(readFileSync(claude, "utf8")).toContain("tampered");
  });
});
