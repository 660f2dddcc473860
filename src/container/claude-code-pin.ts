import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { ContainerError } from "./errors.ts";

/**
 * npm `dist.integrity` of the native Claude Code tarballs at CLAUDE_CODE_VERSION, per architecture.
 * Pinned here rather than trusted from the registry, so a registry or mirror that serves other bytes
 * (with matching metadata) is refused. Update together with CLAUDE_CODE_VERSION:
 * `npm view @anthropic-ai/claude-code-linux-<arch>@<version> dist.integrity`.
 */
export const CLAUDE_CODE_INTEGRITY: Readonly<Record<string, string>> = {
  x64: "sha512-IpvZ9c/NopO/sr8ThWLVAUDXVAFT3auLWrhbR6wq1dgkuJfZYdTtoXf6GajE5KL9R58iTt/86OPXrJAsM4+l8g==",
  arm64: "sha512-zy+OOB7i1J7rCjNoPB2ZBD7EAtT0Eus1wH+toklZGL2XpwHyw+POGUGOpEBBE6xe5EkAYWXzFSTQ3uD8UtWlRg==",
};

/** The npm-style integrity string (sha512, base64) of a file. */
export function fileIntegrity(path: string): string {
  return `sha512-${createHash("sha512").update(readFileSync(path)).digest("base64")}`;
}

/** Throws unless the fetched tarball is exactly the pinned one. */
export function verifyClaudeCodeTarball(path: string, spec: string, expected: string | undefined): void {
  if (expected === undefined)
    throw new ContainerError(
      `no integrity hash is pinned for ${spec}`,
      "pin its npm dist.integrity in claude-code-pin.ts",
    );
  const actual = fileIntegrity(path);
  if (actual !== expected)
    throw new ContainerError(
      `the downloaded ${spec} does not match its pinned integrity (got ${actual.slice(0, 23)}…, pinned ${expected.slice(0, 23)}…); it was not unpacked`,
      "check the npm registry or mirror you fetch from; never use a tarball that does not match",
    );
}
