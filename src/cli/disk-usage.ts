/**
 * Bytes under `path`, never following links, bounded in depth and entries: a home's data holds the
 * agents' workspaces, which the agent shaped (see treeUsage).
 */
export { treeUsage as diskUsage } from "../container/agent-tree.ts";

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
