import { Database } from "bun:sqlite";
import { closeSync, lstatSync, mkdirSync, openSync, realpathSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { applyMigrations, type Migration } from "./migrations.ts";
import { assertStorageName } from "./names.ts";
import { StorageError } from "./storage-error.ts";

export type { Migration } from "./migrations.ts";

/** Where one feature's database for one group lives: `<dataRoot>/<feature>/<group>.sqlite`. */
export interface GroupDbSpec {
  readonly dataRoot: string;
  readonly feature: string;
  readonly group: string;
  readonly migrations: readonly Migration[];
}

/** Connections stay open and are reused; the least recently used one is closed past this many. */
const MAX_OPEN_CONNECTIONS = 64;
const BUSY_TIMEOUT_MS = 5_000;
const connections = new Map<string, Database>();

function componentOf(feature: string): string {
  return feature.toUpperCase();
}

/**
 * The database path for (feature, group). Both names are validated before any path is built, and
 * the resolved path must stay directly inside `<dataRoot>/<feature>`.
 */
export function groupDbPath(dataRoot: string, feature: string, group: string): string {
  const component = isNameLike(feature) ? componentOf(feature) : "STORAGE";
  assertStorageName("feature", feature, component);
  assertStorageName("group", group, component);
  const featureDir = resolve(dataRoot, feature);
  const path = resolve(featureDir, `${group}.sqlite`);
  if (!path.startsWith(featureDir + sep) || relative(featureDir, path).includes(sep)) {
    throw new StorageError(
      "PATH_ESCAPE",
      component,
      `the ${feature} database path for group "${group}" leaves its folder.`,
      "use a plain group name.",
    );
  }
  return path;
}

function isNameLike(value: unknown): value is string {
  return typeof value === "string" && /^[a-z0-9_-]{1,32}$/.test(value);
}

/** Creates the feature folder (0700) and checks that, symlinks resolved, it is still under dataRoot. */
function prepareFeatureDir(dataRoot: string, feature: string, component: string): void {
  const featureDir = join(resolve(dataRoot), feature);
  mkdirSync(featureDir, { recursive: true, mode: 0o700 });
  const realRoot = realpathSync(resolve(dataRoot));
  if (realpathSync(featureDir) !== join(realRoot, feature)) {
    throw new StorageError(
      "UNSAFE_FILE",
      component,
      `the ${feature} data folder is a link that points elsewhere.`,
      `replace data/${feature} with a real folder.`,
    );
  }
}

/** Refuses a database file that is a symlink; creates a missing one with mode 0600 (WAL files inherit it). */
function prepareDbFile(path: string, label: string, component: string): void {
  try {
    const stat = lstatSync(path);
    if (!stat.isFile()) {
      throw new StorageError(
        "UNSAFE_FILE",
        component,
        `${label} is not a regular file (a link or folder).`,
        `move it away and restart; carapace recreates it.`,
      );
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    closeSync(openSync(path, "a", 0o600));
  }
}

function configure(db: Database): void {
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.exec("PRAGMA foreign_keys = ON");
  // Schema objects (triggers, views) may not call functions that are not marked innocuous.
  db.exec("PRAGMA trusted_schema = OFF");
}

/** Opens (or reuses) the group's database for a feature, migrated to the newest schema. */
export function openGroupDb(spec: GroupDbSpec): Database {
  const path = groupDbPath(spec.dataRoot, spec.feature, spec.group);
  const cached = connections.get(path);
  if (cached) {
    connections.delete(path);
    connections.set(path, cached);
    return cached;
  }
  const component = componentOf(spec.feature);
  const label = `the ${spec.feature} database of group "${spec.group}"`;
  prepareFeatureDir(spec.dataRoot, spec.feature, component);
  prepareDbFile(path, label, component);
  const db = new Database(path, { create: true, readwrite: true, strict: true });
  try {
    configure(db);
    applyMigrations(db, spec.migrations, component, label);
  } catch (error) {
    db.close();
    throw error;
  }
  connections.set(path, db);
  evictBeyondLimit();
  return db;
}

/** True when the group already has a database file for the feature (names validated first). */
export function groupDbExists(dataRoot: string, feature: string, group: string): boolean {
  try {
    return lstatSync(groupDbPath(dataRoot, feature, group)).isFile();
  } catch (error) {
    if (error instanceof StorageError) throw error;
    return false;
  }
}

function evictBeyondLimit(): void {
  while (connections.size > MAX_OPEN_CONNECTIONS) {
    const oldest = connections.keys().next().value;
    if (oldest === undefined) return;
    connections.get(oldest)?.close();
    connections.delete(oldest);
  }
}

/** A private in-memory database with the same pragmas and migrations; for tests and tools. */
export function openMemoryDb(migrations: readonly Migration[], component = "STORAGE"): Database {
  const db = new Database(":memory:", { strict: true });
  configure(db);
  applyMigrations(db, migrations, component, "the in-memory database");
  return db;
}

/** Closes the cached connections of one feature (a plugin's shutdown), leaving other features open. */
export function closeFeatureDbs(dataRoot: string, feature: string): void {
  const featureDir = resolve(dataRoot, feature) + sep;
  for (const [path, db] of connections) {
    if (!path.startsWith(featureDir)) continue;
    db.close();
    connections.delete(path);
  }
}

/** Closes every cached connection (at shutdown, and between tests). */
export function closeAll(): void {
  for (const db of connections.values()) db.close();
  connections.clear();
}

export function openConnectionCount(): number {
  return connections.size;
}
