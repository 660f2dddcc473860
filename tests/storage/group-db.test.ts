import { Database } from "bun:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  closeAll,
  closeFeatureDbs,
  groupDbExists,
  groupDbPath,
  openConnectionCount,
  openGroupDb,
  openMemoryDb,
} from "../../src/storage/group-db.ts";
import type { Migration } from "../../src/storage/migrations.ts";
import { readUserVersion } from "../../src/storage/migrations.ts";
import { StorageError } from "../../src/storage/storage-error.ts";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "carapace-storage-"));
});
afterEach(() => {
  closeAll();
  rmSync(root, { recursive: true, force: true });
});

const notes: Migration[] = [
  { version: 1, description: "notes", up: "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)" },
  { version: 2, description: "note tags", up: "ALTER TABLE notes ADD COLUMN tag TEXT" },
];

function storageError(fn: () => unknown): StorageError {
  try {
    fn();
  } catch (error) {
    if (error instanceof StorageError) return error;
    throw error;
  }
  throw new Error("expected a StorageError");
}

describe("names and paths", () => {
  test("builds <dataRoot>/<feature>/<group>.sqlite", () => {
    expect(groupDbPath(root, "memory", "main")).toBe(join(root, "memory", "main.sqlite"));
    expect(groupDbPath(root, "memory", "team_a-1")).toBe(join(root, "memory", "team_a-1.sqlite"));
  });

  const badNames = [
    "",
    "Main",
    "../etc",
    "..",
    ".",
    "a/b",
    "a\\b",
    "a.b",
    "a b",
    "a\u0000b",
    "x".repeat(33),
    "ä",
    "main\n",
    "%2e%2e",
  ];
  for (const name of badNames) {
    test(`group ${JSON.stringify(name)} is refused before any path exists`, () => {
      const error = storageError(() =>
        openGroupDb({ dataRoot: root, feature: "memory", group: name, migrations: notes }),
      );
      expect(error.code).toBe("INVALID_NAME");
      expect(error.message).toMatch(/^\[MEMORY\] Error: invalid group name .* Fix: /);
      expect(readdirSync(root)).toEqual([]);
    });
  }

  test("feature names are validated too", () => {
    for (const feature of ["../x", "Memory", ""]) {
      const error = storageError(() => openGroupDb({ dataRoot: root, feature, group: "main", migrations: notes }));
      expect(error.code).toBe("INVALID_NAME");
    }
    expect(readdirSync(root)).toEqual([]);
  });

  test("a non-string group is refused", () => {
    expect(storageError(() => groupDbPath(root, "memory", 42 as unknown as string)).code).toBe("INVALID_NAME");
  });
});

describe("opening", () => {
  test("creates the folder 0700 and the file 0600, in WAL mode, migrated", () => {
    const db = openGroupDb({ dataRoot: root, feature: "memory", group: "main", migrations: notes });
    const path = join(root, "memory", "main.sqlite");
    expect(statSync(join(root, "memory")).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()?.journal_mode).toBe("wal");
    expect(readUserVersion(db)).toBe(2);
    db.query("INSERT INTO notes (body, tag) VALUES (?, ?)").run("hello", "t");
    expect(groupDbExists(root, "memory", "main")).toBe(true);
    expect(groupDbExists(root, "memory", "other")).toBe(false);
  });

  test("connections are reused until closed", () => {
    const spec = { dataRoot: root, feature: "memory", group: "main", migrations: notes };
    const first = openGroupDb(spec);
    expect(openGroupDb(spec)).toBe(first);
    expect(openConnectionCount()).toBe(1);
    closeAll();
    expect(openConnectionCount()).toBe(0);
    const again = openGroupDb(spec);
    expect(again).not.toBe(first);
  });

  test("closeFeatureDbs closes only that feature", () => {
    const memory = openGroupDb({ dataRoot: root, feature: "memory", group: "main", migrations: notes });
    openGroupDb({ dataRoot: root, feature: "tasks", group: "main", migrations: notes });
    closeFeatureDbs(root, "memory");
    expect(openConnectionCount()).toBe(1);
    expect(() => memory.query("SELECT 1").get()).toThrow();
  });

  test("a database file that is a symlink is refused", () => {
    mkdirSync(join(root, "memory"));
    const elsewhere = join(root, "elsewhere.sqlite");
    writeFileSync(elsewhere, "");
    symlinkSync(elsewhere, join(root, "memory", "main.sqlite"));
    const error = storageError(() =>
      openGroupDb({ dataRoot: root, feature: "memory", group: "main", migrations: notes }),
    );
    expect(error.code).toBe("UNSAFE_FILE");
    expect(error.message).not.toContain(root);
  });

  test("a feature folder linked outside the data root is refused", () => {
    const outside = mkdtempSync(join(tmpdir(), "carapace-outside-"));
    try {
      symlinkSync(outside, join(root, "memory"));
      const error = storageError(() =>
        openGroupDb({ dataRoot: root, feature: "memory", group: "main", migrations: notes }),
      );
      expect(error.code).toBe("UNSAFE_FILE");
      expect(readdirSync(outside)).toEqual([]);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe("migrations", () => {
  test("are applied once, in order, and reopening is idempotent", () => {
    let runs = 0;
    const counted: Migration[] = [
      {
        version: 1,
        description: "t",
        up: (db) => {
          runs++;
          db.exec("CREATE TABLE t (x INTEGER)");
        },
      },
    ];
    openGroupDb({ dataRoot: root, feature: "memory", group: "main", migrations: counted });
    closeAll();
    const db = openGroupDb({ dataRoot: root, feature: "memory", group: "main", migrations: counted });
    expect(runs).toBe(1);
    expect(readUserVersion(db)).toBe(1);
  });

  test("an older database is brought forward step by step", () => {
    const first = [notes[0] as Migration];
    openGroupDb({ dataRoot: root, feature: "memory", group: "main", migrations: first })
      .query("INSERT INTO notes (body) VALUES ('kept')")
      .run();
    closeAll();
    const db = openGroupDb({ dataRoot: root, feature: "memory", group: "main", migrations: notes });
    expect(readUserVersion(db)).toBe(2);
    expect(db.query("SELECT body, tag FROM notes").all()).toEqual([{ body: "kept", tag: null }]);
  });

  test("a database with a newer schema is refused with a clear message and left untouched", () => {
    openGroupDb({ dataRoot: root, feature: "memory", group: "main", migrations: notes });
    closeAll();
    const raw = new Database(join(root, "memory", "main.sqlite"));
    raw.exec("PRAGMA user_version = 7");
    raw.close();
    const error = storageError(() =>
      openGroupDb({ dataRoot: root, feature: "memory", group: "main", migrations: notes }),
    );
    expect(error.code).toBe("SCHEMA_TOO_NEW");
    expect(error.message).toMatch(/^\[MEMORY\] Error: .*schema version 7.*only knows up to 2\. Fix: upgrade carapace/);
    expect(error.message).not.toContain(root);
    expect(openConnectionCount()).toBe(0);
    const check = new Database(join(root, "memory", "main.sqlite"));
    expect(readUserVersion(check)).toBe(7);
    check.close();
  });

  test("a failing step rolls back and leaves the previous version", () => {
    const broken: Migration[] = [
      notes[0] as Migration,
      { version: 2, description: "broken", up: "CREATE TABLE ok (x); CREATE TABLE notes (x)" },
    ];
    const error = storageError(() =>
      openGroupDb({ dataRoot: root, feature: "memory", group: "main", migrations: broken }),
    );
    expect(error.code).toBe("MIGRATION_FAILED");
    const check = new Database(join(root, "memory", "main.sqlite"));
    expect(readUserVersion(check)).toBe(1);
    expect(check.query("SELECT name FROM sqlite_master WHERE name = 'ok'").all()).toEqual([]);
    check.close();
  });

  test("an unordered migration list is refused", () => {
    const unordered: Migration[] = [notes[1] as Migration, notes[0] as Migration];
    expect(storageError(() => openMemoryDb(unordered)).code).toBe("MIGRATION_FAILED");
  });

  test("openMemoryDb gives a private migrated database and creates no file", () => {
    const a = openMemoryDb(notes);
    const b = openMemoryDb(notes);
    a.query("INSERT INTO notes (body) VALUES ('only in a')").run();
    expect(b.query("SELECT count(*) AS n FROM notes").get()).toEqual({ n: 0 });
    expect(readUserVersion(a)).toBe(2);
    expect(existsSync(join(root, "memory"))).toBe(false);
    a.close();
    b.close();
  });
});
