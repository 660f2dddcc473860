import { UserError } from "../errors/user-error.ts";

export type StorageErrorCode = "INVALID_NAME" | "PATH_ESCAPE" | "SCHEMA_TOO_NEW" | "MIGRATION_FAILED" | "UNSAFE_FILE";

/** A storage failure with a user-facing `[COMPONENT] Error: what. Fix: how.` message and no absolute paths. */
export class StorageError extends UserError {
  override name = "StorageError";
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, component: string, what: string, fix: string) {
    super(component, what, fix);
    this.code = code;
  }
}
