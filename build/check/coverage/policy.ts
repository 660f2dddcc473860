/**
 * What the coverage gate enforces. Bun reports lines and functions (no branches); the gate holds
 * lines. Patterns are globs relative to the repository root (Bun.Glob syntax).
 */
export interface CoverageBar {
  /** Why this group of files has a higher bar, as printed in the report. */
  readonly name: string;
  readonly patterns: readonly string[];
  /** Minimum percentage of lines hit, for every single file matching the patterns. */
  readonly minLines: number;
}

export interface CoveragePolicy {
  /** Files the gate counts; test helpers, fixtures and dependencies are left out. */
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /** Minimum percentage of lines hit over all counted files together. */
  readonly globalMinLines: number;
  /** Per-file bars for security-critical modules. A file matching several bars must meet the highest. */
  readonly critical: readonly CoverageBar[];
}

export const COVERAGE_POLICY: CoveragePolicy = {
  include: ["src/**", "plugins/**"],
  exclude: ["**/*.d.ts", "**/*.test.ts", "**/node_modules/**"],
  globalMinLines: 80,
  critical: [
    { name: "validation pipeline", patterns: ["src/core/pipeline/**"], minLines: 90 },
    { name: "wire parsing", patterns: ["src/protocol/wire.ts"], minLines: 90 },
    { name: "sanitizer and audit", patterns: ["src/core/response/**"], minLines: 90 },
    {
      name: "session identity",
      patterns: ["src/core/sessions*", "src/core/sessions/**", "src/core/session*.ts"],
      minLines: 90,
    },
    { name: "memory security", patterns: ["plugins/memory/**/fts.ts", "plugins/memory/**/store.ts"], minLines: 90 },
    { name: "group-scoped storage", patterns: ["src/storage/**"], minLines: 90 },
    { name: "agent-writable trees", patterns: ["src/container/agent-tree.ts"], minLines: 90 },
  ],
};
