import type { Database } from "bun:sqlite";
import { mkdirSync, readdirSync } from "node:fs";
import { dirname } from "node:path";
import { type BriefContext, type CoreServices, type PluginHandler, type ToolContext, ToolError } from "@carapace/sdk";
import { closeFeatureDbs, groupDbExists, openGroupDb } from "../../src/storage/group-db.ts";
import { isValidStorageName } from "../../src/storage/names.ts";
import { StorageError } from "../../src/storage/storage-error.ts";
import { readBriefArgs, readDeleteArgs, readSearchArgs, readStoreArgs } from "./args.ts";
import { generateBrief } from "./brief.ts";
import { MEMORY_FEATURE, MEMORY_MIGRATIONS } from "./migrations.ts";
import { type QuotaKind, SessionQuotas } from "./quotas.ts";
import { type MemorySettings, readSettings } from "./settings.ts";
import { deleteEntry, insertEntry, purgeSuperseded, searchEntries } from "./store.ts";

/**
 * Reads of a group's database go through a memory map of up to this many bytes. A ranked search reads
 * the index's row sizes of its 500 candidates (and, when the plugin scores them, their rows), pages
 * scattered over the file: through the page cache each is a pread, mapped they are memory reads. At
 * 1M entries that halved the CPU time of a selective search (3.5 to 1.6 ms). Address space only; the
 * kernel keeps the pages, shared and reclaimable.
 */
const MMAP_BYTES = 1024 * 1024 * 1024;

export interface MemoryPluginOptions {
  /** Clock for provenance fallbacks and purging; tests pin it. */
  now?: () => Date;
}

/**
 * The memory plugin's host side. Each group has its own SQLite file, opened on first use; every
 * query also filters by the caller's group. Provenance comes from the ToolContext the core built.
 */
export class MemoryPlugin implements PluginHandler {
  private services: CoreServices | null = null;
  private settings: MemorySettings = readSettings({});
  private quotas = new SessionQuotas(this.settings.quotas);
  private dataRoot = "";
  private readonly purged = new WeakSet<Database>();
  private readonly now: () => Date;

  constructor(options: MemoryPluginOptions = {}) {
    this.now = options.now ?? (() => new Date());
  }

  initialize(services: CoreServices): void {
    this.services = services;
    this.settings = readSettings(services.config());
    this.quotas = new SessionQuotas(this.settings.quotas);
    // dataDir("memory") is <dataRoot>/memory; the storage layer rebuilds that path per group.
    const memoryDir = services.dataDir(MEMORY_FEATURE);
    this.dataRoot = dirname(memoryDir);
    mkdirSync(memoryDir, { recursive: true, mode: 0o700 });
    // Open every existing group once: migrates it and purges old superseded entries. A group that
    // cannot be opened (e.g. a newer schema) is reported and skipped; its calls fail on their own.
    for (const name of readdirSync(memoryDir)) {
      const group = name.endsWith(".sqlite") ? name.slice(0, -".sqlite".length) : "";
      if (!isValidStorageName(group)) continue;
      try {
        this.database(group);
      } catch (error) {
        services.log("error", (error as Error).message);
      }
    }
  }

  /** The group's database, migrated, with old superseded entries purged on first use. */
  private database(group: string): Database {
    if (!this.services)
      throw new ToolError("NOT_READY", "The memory plugin is not initialized yet; try again shortly.", {
        retriable: true,
      });
    let db: Database;
    try {
      db = openGroupDb({ dataRoot: this.dataRoot, feature: MEMORY_FEATURE, group, migrations: MEMORY_MIGRATIONS });
    } catch (error) {
      // ast-grep-ignore: no-toolerror-from-caught-error -- StorageError messages are written by src/storage for users and never hold paths or SQL
      if (error instanceof StorageError) throw new ToolError("STORAGE_UNAVAILABLE", error.message);
      throw error;
    }
    if (!this.purged.has(db)) {
      this.purged.add(db);
      db.exec(`PRAGMA mmap_size = ${MMAP_BYTES}`);
      const removed = purgeSuperseded(db, this.settings.purgeSupersededAfterDays, this.now());
      if (removed > 0) this.services.log("info", `memory: purged ${removed} superseded entries of group ${group}`);
    }
    return db;
  }

  private timestamp(context: ToolContext): string {
    const parsed = Date.parse(context.timestamp);
    return Number.isNaN(parsed) ? this.now().toISOString() : new Date(parsed).toISOString();
  }

  /** The brief of earlier sessions' entries for a new session of the group (null when it has none). */
  sessionBrief(context: BriefContext): string | null {
    if (!isValidStorageName(context.group) || !groupDbExists(this.dataRoot, MEMORY_FEATURE, context.group)) return null;
    return generateBrief(this.database(context.group)) || null;
  }

  handleToolInvocation(tool: string, args: Record<string, unknown>, context: ToolContext): unknown {
    switch (tool) {
      case "memory_store":
        return this.store(args, context);
      case "memory_search":
        return this.search(args, context);
      case "memory_brief":
        return this.brief(args, context);
      case "memory_delete":
        return this.delete(args, context);
      default:
        throw new ToolError(
          "UNSUPPORTED_TOOL",
          `The memory plugin has no tool named ${JSON.stringify(tool.slice(0, 64))}.`,
        );
    }
  }

  private store(args: Record<string, unknown>, context: ToolContext) {
    const input = readStoreArgs(args);
    const kinds: QuotaKind[] = input.supersedes === undefined ? ["stores"] : ["stores", "supersedes"];
    this.quotas.check(context.group, context.sessionId, kinds);
    const stored = insertEntry(this.database(context.group), input, {
      sessionId: context.sessionId,
      group: context.group,
      createdAt: this.timestamp(context),
    });
    this.quotas.consume(context.group, context.sessionId, kinds);
    return { ...stored, quota_remaining: this.quotas.remaining(context.group, context.sessionId) };
  }

  private search(args: Record<string, unknown>, context: ToolContext) {
    const input = readSearchArgs(args);
    const result = searchEntries(this.database(context.group), context.group, {
      ...(input.query === undefined ? {} : { query: input.query }),
      match: input.match,
      types: input.types,
      tags: input.tags,
      limit: input.limit,
    });
    return { count: result.entries.length, entries: result.entries, ...(result.note ? { note: result.note } : {}) };
  }

  private brief(args: Record<string, unknown>, context: ToolContext) {
    readBriefArgs(args);
    return { brief: generateBrief(this.database(context.group), this.settings.brief) };
  }

  private delete(args: Record<string, unknown>, context: ToolContext) {
    const { id } = readDeleteArgs(args);
    this.quotas.check(context.group, context.sessionId, ["deletes"]);
    if (!deleteEntry(this.database(context.group), context.group, id)) {
      throw new ToolError("NOT_FOUND", `Memory entry ${id} does not exist in this group.`);
    }
    this.quotas.consume(context.group, context.sessionId, ["deletes"]);
    return { deleted: id, quota_remaining: this.quotas.remaining(context.group, context.sessionId) };
  }

  shutdown(): void {
    if (this.dataRoot !== "") closeFeatureDbs(this.dataRoot, MEMORY_FEATURE);
  }
}

/** What the plugin loader imports: a fresh handler per import of this module. */
const handler: PluginHandler = new MemoryPlugin();
export default handler;
