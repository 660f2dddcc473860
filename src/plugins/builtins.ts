/**
 * Plugins embedded in the compiled binary, so a lone `carapace` has them without any files beside it.
 * Their handlers are imported only when the core loads plugins, not by every CLI command.
 */
import memoryManifest from "../../plugins/memory/manifest.json" with { type: "json" };
import telegramManifest from "../../plugins/telegram/manifest.json" with { type: "json" };

export interface EmbeddedPlugin {
  name: string;
  manifestText: string;
  load(): Promise<{ default?: unknown }>;
  /** A channel plugin: loaded only when [channels.<channel>] enabled = true. */
  channel?: string;
}

export const EMBEDDED_PLUGINS: readonly EmbeddedPlugin[] = [
  {
    name: "memory",
    manifestText: JSON.stringify(memoryManifest),
    // A fresh handler per load, so two cores in one process (tests) never share one.
    load: async () => ({ default: new (await import("../../plugins/memory/handler.ts")).MemoryPlugin() }),
  },
  {
    name: "telegram",
    channel: "telegram",
    manifestText: JSON.stringify(telegramManifest),
    load: async () => ({ default: new (await import("../../plugins/telegram/handler.ts")).TelegramChannel() }),
  },
];
