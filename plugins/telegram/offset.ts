import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The next update id to ask Telegram for, kept in the plugin's data folder. It is written only after
 * the core has taken an update, so a restart asks again for anything not yet taken (nothing lost);
 * the core refuses an update id it has already seen (nothing processed twice).
 */
export class OffsetStore {
  private readonly path: string;

  constructor(dir: string) {
    this.path = join(dir, "offset.json");
  }

  read(): number {
    try {
      const value = Number((JSON.parse(readFileSync(this.path, "utf8")) as { offset?: unknown }).offset);
      return Number.isSafeInteger(value) && value >= 0 ? value : 0;
    } catch {
      return 0;
    }
  }

  write(offset: number): void {
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify({ offset }), { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}
