/**
 * Why a plugin was not loaded. The category is stable (tests, `doctor` and `get_session_info` show it);
 * the message is written by the core and never carries the plugin's own error text or host paths.
 */
export const FAILURE_CATEGORIES = [
  "manifest_invalid",
  "schema_open",
  "schema_ref",
  "schema_too_complex",
  "name_invalid",
  "reserved_name",
  "duplicate_tool",
  "too_large",
  "path_traversal",
  "unsafe_permissions",
  "import_failed",
  "init_failed",
  "init_timeout",
  "sandbox_unavailable",
  "crashed",
] as const;

export type FailureCategory = (typeof FAILURE_CATEGORIES)[number];

export interface PluginProblem {
  category: FailureCategory;
  message: string;
}

export class PluginLoadError extends Error {
  /** The plugin's own error text (sanitized by whoever shows it), for the operator only. */
  detail?: string;
  constructor(readonly problem: PluginProblem) {
    super(problem.message);
    this.name = "PluginLoadError";
  }
}

export function problem(category: FailureCategory, message: string): PluginProblem {
  return { category, message };
}
