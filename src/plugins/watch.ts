/**
 * `carapace start --watch`: watches the user's plugin folders and `[plugins] dirs`; a change to one
 * plugin (debounced) re-validates and reloads that plugin only, through PluginHost.reload. The other
 * plugins keep serving, and a broken edit leaves the old version serving with the reason printed.
 */
import { type FSWatcher, lstatSync, readdirSync, watch } from "node:fs";
import { join } from "node:path";
import type { PluginHost, ReloadOutcome } from "./host.ts";

export const WATCH_DEBOUNCE_MS = 200;

export interface WatchOptions {
  debounceMs?: number;
  log(line: string): void;
  /** Reports every finished reload (tests). */
  onReload?(plugin: string, outcome: ReloadOutcome): void;
}

/** Why a folder may not be watched (another user could change the code the core runs), or null. */
export function unsafeWatchRoot(dir: string): string | null {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(dir);
  } catch {
    return null;
  }
  if (stat.isSymbolicLink()) return `${dir} is a symbolic link`;
  if (!stat.isDirectory()) return `${dir} is not a folder`;
  const me = process.getuid?.();
  if (me !== undefined && stat.uid !== me) return `${dir} is owned by uid ${stat.uid}, not by you (uid ${me})`;
  if ((stat.mode & 0o022) !== 0) return `${dir} has mode 0${(stat.mode & 0o777).toString(8)}: others can write to it`;
  return null;
}

/** The plugin a changed path belongs to: its first segment under the watched root. */
function pluginOf(filename: string | null): string | null {
  if (!filename) return null;
  const first = filename.split("/")[0];
  return first && !first.startsWith(".") ? first : null;
}

function refusal(plugin: string, why: string): string {
  return `[PLUGINS] Error: --watch will not reload plugin "${plugin}": ${why}. Fix: chown it to yourself and run chmod -R go-w on it.`;
}

function pluginFolders(root: string): string[] {
  try {
    return readdirSync(root).filter((e) => !e.startsWith("."));
  } catch {
    return [];
  }
}

export class PluginWatcher {
  private readonly watchers: FSWatcher[] = [];
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private generation = 0;
  private closed = false;

  constructor(
    private readonly host: Pick<PluginHost, "reload">,
    private readonly roots: readonly string[],
    private readonly options: WatchOptions,
  ) {}

  /** Starts watching; throws a message naming the first root that is not safe to watch. */
  start(): void {
    for (const root of this.roots) {
      const unsafe = unsafeWatchRoot(root);
      if (unsafe) throw new Error(unsafe);
    }
    for (const root of this.roots) {
      for (const entry of pluginFolders(root)) {
        const unsafe = unsafeWatchRoot(join(root, entry));
        if (unsafe) this.options.log(refusal(entry, unsafe));
      }
      try {
        const w = watch(root, { recursive: true }, (_event, filename) => this.changed(root, pluginOf(filename)));
        w.on("error", (error) => this.options.log(`[PLUGINS] warn: watching ${root} stopped: ${error.message}`));
        this.watchers.push(w);
      } catch (error) {
        // A root that does not exist yet (no plugins installed) has nothing to watch.
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.splice(0)) w.close();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private changed(root: string, plugin: string | null): void {
    if (this.closed || plugin === null) return;
    const unsafe = unsafeWatchRoot(join(root, plugin));
    if (unsafe) {
      this.options.log(refusal(plugin, unsafe));
      return;
    }
    clearTimeout(this.timers.get(plugin));
    this.timers.set(
      plugin,
      setTimeout(() => {
        this.timers.delete(plugin);
        this.schedule(plugin);
      }, this.options.debounceMs ?? WATCH_DEBOUNCE_MS),
    );
  }

  /** One reload per plugin at a time; a change during a reload triggers one more afterwards. */
  private schedule(plugin: string): void {
    if (this.running.has(plugin)) {
      this.again.add(plugin);
      return;
    }
    const run = this.reloadOnce(plugin).finally(() => {
      this.running.delete(plugin);
      if (this.again.delete(plugin) && !this.closed) this.schedule(plugin);
    });
    this.running.set(plugin, run);
  }

  private async reloadOnce(plugin: string): Promise<void> {
    this.generation += 1;
    let outcome: ReloadOutcome;
    try {
      outcome = await this.host.reload(plugin, `${Date.now()}-${this.generation}`);
    } catch (error) {
      this.options.log(
        `[PLUGINS] Error: reloading plugin "${plugin}" failed: ${(error as Error).message}. Fix: restart the core.`,
      );
      return;
    }
    if (outcome.ok) {
      this.options.log(
        `[PLUGINS] plugin "${plugin}" reloaded (version ${outcome.version}; tools: ${outcome.tools.join(", ") || "none"})`,
      );
    } else {
      const detail = outcome.detail ? ` (${outcome.detail})` : "";
      this.options.log(
        `[PLUGINS] Error: plugin "${plugin}" was not reloaded: ${outcome.problem.category}: ${outcome.problem.message}${detail}; the previous version keeps serving. Fix: correct it and save again, or run \`carapace plugin validate\` on the folder.`,
      );
    }
    this.options.onReload?.(plugin, outcome);
  }
}
