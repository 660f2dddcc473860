/**
 * A plugin's settings from config.toml. Only sections that belong to a plugin are handed out (never
 * [security], [network], …). The [memory] keys of config.toml carry the core's naming and are renamed
 * to the names of the memory plugin's config_schema.
 */
import type { Config } from "../config/keys.ts";

const MEMORY_KEY_NAMES: Record<string, string> = {
  max_stores_per_session: "store_quota",
  max_supersedes_per_session: "supersede_quota",
  max_deletes_per_session: "delete_quota",
};

export function pluginConfigSection(config: Config, plugin: string): Readonly<Record<string, unknown>> {
  // A channel plugin gets where its service is and how to poll it; never the chat bindings (the host's).
  const channel = config.channels[plugin];
  if (channel && plugin !== "memory") {
    return {
      ...(channel.api_base ? { api_base: channel.api_base } : {}),
      ...(channel.poll_timeout_s !== undefined ? { poll_timeout_s: channel.poll_timeout_s } : {}),
    };
  }
  if (plugin !== "memory") return {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config.memory)) out[MEMORY_KEY_NAMES[key] ?? key] = value;
  return out;
}
