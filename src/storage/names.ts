import { StorageError } from "./storage-error.ts";

/** Feature and group names: the only user-influenced parts of a database path. */
export const STORAGE_NAME_PATTERN = /^[a-z0-9_-]{1,32}$/;

export function isValidStorageName(name: unknown): name is string {
  return typeof name === "string" && STORAGE_NAME_PATTERN.test(name);
}

/** Throws unless `name` is a safe path segment; runs before any path is built from it. */
export function assertStorageName(kind: "group" | "feature", name: unknown, component: string): string {
  if (isValidStorageName(name)) return name;
  const shown = typeof name === "string" ? JSON.stringify(name.slice(0, 40)) : typeof name;
  throw new StorageError(
    "INVALID_NAME",
    component,
    `invalid ${kind} name ${shown}.`,
    `use 1-32 characters from lowercase a-z, 0-9, "_" and "-".`,
  );
}
