import type { Database } from "bun:sqlite";
import { MEMORY_MIGRATIONS } from "../../plugins/memory/migrations.ts";
import { openMemoryDb } from "../../src/storage/group-db.ts";

/** An in-memory SQLite with the memory plugin's migrations applied (fresh per call; close it after). */
export function memorySqlite(): Database {
  return openMemoryDb(MEMORY_MIGRATIONS, "MEMORY");
}

/** Names of the tables, virtual tables and triggers in `db`, for asserting a schema is in place. */
export function schemaObjects(db: Database): { tables: string[]; triggers: string[] } {
  const rows = db.query("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'trigger')").all() as {
    type: string;
    name: string;
  }[];
  return {
    tables: rows.filter((r) => r.type === "table").map((r) => r.name),
    triggers: rows.filter((r) => r.type === "trigger").map((r) => r.name),
  };
}
