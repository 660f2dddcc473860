import type { Migration } from "../../src/storage/migrations.ts";

/** The storage feature name: databases live at <dataRoot>/memory/<group>.sqlite. */
export const MEMORY_FEATURE = "memory";

/**
 * Schema of a group's memory database. `behavioral` is a generated column (it cannot be written,
 * only derived from `type`); provenance, content, tags and chain fields are frozen by a trigger, and
 * an entry can be superseded only once. Ids are AUTOINCREMENT so a deleted id is never reused and
 * `supersedes` references stay unambiguous.
 */
export const MEMORY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "entries, tags, FTS5 index, immutability triggers",
    up: `
      CREATE TABLE entries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL CHECK (type IN ('preference', 'instruction', 'correction', 'fact', 'context')),
        behavioral INTEGER GENERATED ALWAYS AS (type IN ('preference', 'instruction', 'correction')) STORED,
        content TEXT NOT NULL CHECK (length(content) BETWEEN 1 AND 4000),
        tags TEXT NOT NULL DEFAULT '',
        session_id TEXT NOT NULL,
        group_name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        supersedes INTEGER,
        chain_length INTEGER NOT NULL DEFAULT 1 CHECK (chain_length >= 1),
        superseded_by INTEGER,
        superseded_at TEXT
      );
      CREATE INDEX entries_current ON entries (behavioral, id) WHERE superseded_by IS NULL;
      CREATE INDEX entries_retired ON entries (superseded_at) WHERE superseded_by IS NOT NULL;

      CREATE TABLE entry_tags (
        tag TEXT NOT NULL,
        entry_id INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
        PRIMARY KEY (tag, entry_id)
      ) WITHOUT ROWID;
      CREATE INDEX entry_tags_entry ON entry_tags (entry_id);

      CREATE VIRTUAL TABLE entries_fts USING fts5 (
        content, tags, content = 'entries', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
      );
      CREATE TRIGGER entries_fts_insert AFTER INSERT ON entries BEGIN
        INSERT INTO entries_fts (rowid, content, tags) VALUES (new.id, new.content, new.tags);
      END;
      CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries BEGIN
        INSERT INTO entries_fts (entries_fts, rowid, content, tags) VALUES ('delete', old.id, old.content, old.tags);
      END;

      CREATE TRIGGER entries_frozen
      BEFORE UPDATE OF id, type, content, tags, session_id, group_name, created_at, supersedes, chain_length ON entries
      BEGIN
        SELECT RAISE(ABORT, 'memory entries are immutable: provenance, content and tags cannot change');
      END;
      CREATE TRIGGER entries_supersede_once
      BEFORE UPDATE OF superseded_by, superseded_at ON entries WHEN OLD.superseded_by IS NOT NULL
      BEGIN
        SELECT RAISE(ABORT, 'memory entry is already superseded');
      END;
      CREATE TRIGGER entry_tags_frozen BEFORE UPDATE ON entry_tags BEGIN
        SELECT RAISE(ABORT, 'memory tags are immutable');
      END;
    `,
  },
];
