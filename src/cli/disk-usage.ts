import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Bytes under `path` (files' apparent sizes), never following symbolic links; unreadable parts count 0. */
export function diskUsage(path: string): number {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return Number(stat.size);
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(path);
  } catch {
    return 0;
  }
  for (const name of names) total += diskUsage(join(path, name));
  return total;
}

const UNITS = ["B", "KB", "MB", "GB", "TB"];

/** 1234567 → "1.2 MB" (powers of 1000, as container runtimes print image sizes). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}
