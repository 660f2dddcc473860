import { UserError } from "../errors/user-error.ts";
import type { ToolContext } from "./sdk/types.ts";

export type JsonSchema = Record<string, unknown>;

export interface ToolEntry {
  readonly name: string;
  readonly description: string;
  readonly risk_level: "low" | "high";
  readonly arguments_schema: JsonSchema;
  /** Groups allowed to call the tool; `*` allows every group. */
  readonly allowed_groups: readonly string[];
  readonly plugin: string;
  invoke(args: Record<string, unknown>, context: ToolContext): Promise<unknown> | unknown;
  /** False while the plugin is failed, reloading or stopping: calls get PLUGIN_UNAVAILABLE. */
  available(): boolean;
}

/** A tool that could not answer for a reason the pipeline names (its plugin is gone, slow, or its reply too big). */
export class InvokeFailure extends Error {
  constructor(
    readonly code: "PLUGIN_UNAVAILABLE" | "PLUGIN_TIMEOUT" | "HANDLER_ERROR",
    message: string,
  ) {
    super(message);
    this.name = "InvokeFailure";
  }
}

/** The tool catalog: the topic whitelist of stage 2 and the dispatch table of stage 6. */
export class Catalog {
  private readonly tools = new Map<string, ToolEntry>();

  register(entry: ToolEntry): void {
    if (this.tools.has(entry.name)) {
      throw new UserError("PLUGINS", `tool ${entry.name} is registered twice`, "rename one of the tools");
    }
    this.tools.set(entry.name, entry);
  }

  replacePlugin(plugin: string, entries: readonly ToolEntry[]): void {
    for (const [name, tool] of this.tools) if (tool.plugin === plugin) this.tools.delete(name);
    for (const e of entries) this.register(e);
  }

  get(name: string): ToolEntry | undefined {
    return this.tools.get(name);
  }

  list(): ToolEntry[] {
    return [...this.tools.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  allows(tool: ToolEntry, group: string): boolean {
    return tool.allowed_groups.includes("*") || tool.allowed_groups.includes(group);
  }
}
