import type { Database } from "bun:sqlite";
import { StorageError } from "./storage-error.ts";

/** One schema step. Versions start at 1 and increase by one; `up` runs inside a transaction. */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly up: string | ((db: Database) => void);
}

export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.length === 0 ? 0 : (migrations[migrations.length - 1]?.version ?? 0);
}

export function readUserVersion(db: Database): number {
  const row = db.query<{ user_version: number }, []>("PRAGMA user_version").get();
  return row?.user_version ?? 0;
}

function assertOrdered(migrations: readonly Migration[], component: string): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new StorageError(
        "MIGRATION_FAILED",
        component,
        `migration list is not ordered (position ${index + 1} has version ${migration.version}).`,
        "number migrations 1, 2, 3, ... in order; this is a bug in the code, not in your data.",
      );
    }
  });
}

/**
 * Brings `db` up to the newest migration. Each step runs in its own IMMEDIATE transaction and
 * re-reads `user_version` inside it, so a concurrent opener never applies a step twice. A database
 * stamped with a version newer than the code knows is refused, never downgraded or touched.
 */
export function applyMigrations(
  db: Database,
  migrations: readonly Migration[],
  component: string,
  label: string,
): void {
  assertOrdered(migrations, component);
  const latest = latestVersion(migrations);
  const found = readUserVersion(db);
  if (found > latest) {
    throw new StorageError(
      "SCHEMA_TOO_NEW",
      component,
      `${label} has schema version ${found}, but this build only knows up to ${latest}.`,
      "upgrade carapace to the version that wrote this database (or restore a backup made by this version).",
    );
  }
  for (const migration of migrations) {
    if (migration.version <= found) continue;
    const step = db.transaction(() => {
      if (readUserVersion(db) >= migration.version) return;
      if (typeof migration.up === "string") db.exec(migration.up);
      else migration.up(db);
      // PRAGMA takes no bound parameters; the version is an integer we produced.
      db.exec(`PRAGMA user_version = ${Math.trunc(migration.version)}`);
    });
    try {
      step.immediate();
    } catch (error) {
      if (error instanceof StorageError) throw error;
      throw new StorageError(
        "MIGRATION_FAILED",
        component,
        `${label} could not be migrated to schema version ${migration.version} (${migration.description}): ${(error as Error).message}.`,
        "check the disk is writable and not full; the database was left at its previous version.",
      );
    }
  }
}
