import type { FailureCategory } from "./failure.ts";

/** What to do about each kind of load failure (shown by `plugin validate` and `doctor`). */
export const FAILURE_FIXES: Record<FailureCategory, string> = {
  manifest_invalid: "correct manifest.json as the message says (the schema is in docs and `plugin create` writes one)",
  schema_open: 'close the schema: give every value a "type" and every object "additionalProperties": false',
  schema_ref: "write the referenced schema out in full instead of using $ref",
  schema_too_complex: "flatten the arguments (at most 8 levels, 64 properties per object)",
  name_invalid: "rename it: lowercase letters, digits and _ (tool names may have one dot)",
  reserved_name: "pick another name; hello.*, core.*, tool.*, carapace.* and the intrinsic tools belong to the core",
  duplicate_tool: "rename the tool, or disable the other plugin with [plugins] disabled",
  too_large: "keep manifest.json under 64 KiB and skills/ under 64 files",
  path_traversal: "replace symbolic links with the real files inside the plugin folder",
  unsafe_permissions: "chown the folder to yourself and run chmod -R go-w on it",
  import_failed: "fix handler.ts so it loads and has `export default` a PluginHandler",
  init_failed: "make initialize() succeed; see the core's log for its error",
  init_timeout: "make initialize() finish sooner, or raise [security] plugin_init_timeout_ms",
  sandbox_unavailable: "install bubblewrap (`apt-get install bubblewrap`); plugins run only inside a sandbox",
  crashed: "see the core's log for the plugin's last lines, fix the handler, then reload it or restart the core",
};
