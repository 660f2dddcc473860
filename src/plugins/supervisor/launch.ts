/**
 * Everything needed to start one plugin's process: its sandboxed command, its start message (the
 * declared credentials read here, by the core), its data folders and its socket folder.
 */
import { randomBytes } from "node:crypto";
import { lchownSync, lstatSync, mkdirSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { readCredential } from "../../config/credentials.ts";
import { homePath } from "../../config/home.ts";
import { IS_COMPILED } from "../../platform/compiled.ts";
import type { Limits } from "../../protocol/limits.ts";
import type { RunnerStart } from "../channel/messages.ts";
import type { Candidate } from "../loader.ts";
import type { Manifest } from "../manifest-schema.ts";
import { mcpReadOnlyPaths } from "../mcp/paths.ts";
import { PLUGIN_GID, PLUGIN_UID, type SandboxedCommand, sandboxedCommand } from "./sandbox.ts";

export interface LaunchPlan {
  command: SandboxedCommand;
  start: Omit<RunnerStart, "endpoint" | "nonce">;
  socketDir: string;
  asRoot: boolean;
}

const SOURCE_ROOT = IS_COMPILED ? null : resolve(import.meta.dir, "../../..");

export function runningAsRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/** Hands a tree to the plugin's uid without following links the plugin may have planted. */
function chownTree(path: string): void {
  lchownSync(path, PLUGIN_UID, PLUGIN_GID);
  const st = lstatSync(path);
  if (!st.isDirectory()) return;
  for (const entry of readdirSync(path)) chownTree(join(path, entry));
}

/** The plugin's own folders under data/: its name, and `<name>-*` / `<name>_*` that exist already. */
function dataDirsFor(home: string, plugin: string, asRoot: boolean): Record<string, string> {
  const root = homePath(home, "data");
  mkdirSync(join(root, plugin), { recursive: true, mode: 0o700 });
  const dirs: Record<string, string> = {};
  for (const entry of readdirSync(root)) {
    if (entry !== plugin && !entry.startsWith(`${plugin}-`) && !entry.startsWith(`${plugin}_`)) continue;
    const path = join(root, entry);
    if (!lstatSync(path).isDirectory()) continue;
    if (asRoot) chownTree(path);
    dirs[entry] = path;
  }
  return dirs;
}

export function planLaunch(
  home: string,
  candidate: Candidate,
  manifest: Manifest,
  limits: Limits,
  config: Record<string, unknown>,
): LaunchPlan | { unavailable: string } {
  const asRoot = runningAsRoot();
  // One folder per process: a process that ends removes its own, never its successor's.
  const socketDir = join(home, "run/plugins", `${candidate.name}-${randomBytes(4).toString("hex")}`);
  mkdirSync(join(home, "run/plugins"), { recursive: true, mode: 0o700 });
  const command = sandboxedCommand({
    plugin: candidate.name,
    pluginDir: candidate.dir,
    dataDirs: dataDirsFor(home, candidate.name, asRoot),
    socketDir,
    runtime: { executable: process.execPath, sourceRoot: SOURCE_ROOT },
    network: manifest.network === true,
    ...(candidate.mcp ? { readOnlyPaths: mcpReadOnlyPaths(candidate.mcp, SOURCE_ROOT) } : {}),
    memoryBytes: limits.pluginMemoryMb * 1024 * 1024,
    asRoot,
  });
  if ("unavailable" in command) return command;
  const credentials: Record<string, string | null> = {};
  for (const { key } of manifest.install?.credentials ?? []) credentials[key] = readCredential(home, key);
  const handler: RunnerStart["handler"] = candidate.mcp
    ? { kind: "mcp" }
    : candidate.embedded
      ? { kind: "embedded", name: candidate.embedded.name }
      : { kind: "file", path: command.handlerPath ?? join(candidate.dir as string, "handler.ts") };
  return {
    command,
    socketDir,
    asRoot,
    start: {
      plugin: candidate.name,
      handler,
      dataRoot: command.dataRoot,
      credentials,
      config,
      maxResponseBytes: limits.maxResponseBytes,
    },
  };
}
