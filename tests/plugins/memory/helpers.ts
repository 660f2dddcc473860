import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CoreServices, ToolContext } from "@carapace/sdk";
import { ToolError } from "@carapace/sdk";
import { MemoryPlugin, type MemoryPluginOptions } from "../../../plugins/memory/handler.ts";
import { closeAll } from "../../../src/storage/group-db.ts";

export interface LoggedLine {
  level: string;
  message: string;
}

/** A CoreServices double: a real data folder under a temp dir, a fixed config, a captured log. */
export function fakeServices(
  dataRoot: string,
  config: Record<string, unknown> = {},
  log: LoggedLine[] = [],
): CoreServices {
  return {
    getAuditLog: async () => [],
    getToolCatalog: () => [],
    getSessionInfo: () => null,
    readCredential: async () => null,
    publishEvent: async () => {},
    answerButton: async () => ({ text: "" }),
    dataDir(feature: string) {
      const dir = join(dataRoot, feature);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return dir;
    },
    config: () => config,
    log: (level, message) => {
      log.push({ level, message });
    },
  };
}

let sessionCounter = 0;

export function contextFor(
  group: string,
  sessionId = `session-${++sessionCounter}`,
  timestamp = new Date().toISOString(),
): ToolContext {
  return { group, sessionId, correlation: crypto.randomUUID(), timestamp, source: "test" };
}

export interface MemoryHarness {
  dataRoot: string;
  plugin: MemoryPlugin;
  log: LoggedLine[];
  call(tool: string, args: Record<string, unknown>, context: ToolContext): Promise<Record<string, unknown>>;
  /** The ToolError a call throws (fails the test if it succeeds or throws something else). */
  callError(tool: string, args: Record<string, unknown>, context: ToolContext): Promise<ToolError>;
  cleanup(): void;
}

export async function memoryHarness(
  config: Record<string, unknown> = {},
  options: MemoryPluginOptions = {},
  dataRoot?: string,
): Promise<MemoryHarness> {
  const root = dataRoot ?? mkdtempSync(join(tmpdir(), "carapace-memory-"));
  const log: LoggedLine[] = [];
  const plugin = new MemoryPlugin(options);
  await plugin.initialize(fakeServices(root, config, log));
  const call = async (tool: string, args: Record<string, unknown>, context: ToolContext) =>
    (await plugin.handleToolInvocation(tool, args, context)) as Record<string, unknown>;
  return {
    dataRoot: root,
    plugin,
    log,
    call,
    async callError(tool, args, context) {
      try {
        await call(tool, args, context);
      } catch (error) {
        if (error instanceof ToolError) return error;
        throw new Error(`expected a ToolError, got ${String(error)}`);
      }
      throw new Error(`expected ${tool} to fail`);
    },
    cleanup() {
      plugin.shutdown();
      closeAll();
      if (dataRoot === undefined) rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface EntryView {
  id: number;
  type: string;
  behavioral: boolean;
  content: string;
  tags: string[];
  created_at: string;
  session_id: string;
  supersedes: number | null;
  score: number | null;
}

export function entriesOf(result: Record<string, unknown>): EntryView[] {
  return result.entries as EntryView[];
}
