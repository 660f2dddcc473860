/**
 * The calling request of whatever plugin code runs now. The core enters a scope around every tool
 * invocation and event delivery; CoreServices read it, so a plugin never names a group itself.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface RequestScope {
  /** Null for core events that belong to no group: group-scoped services then return nothing. */
  readonly group: string | null;
  readonly sessionId: string | null;
  readonly correlation: string | null;
  readonly source: string;
}

const storage = new AsyncLocalStorage<RequestScope>();

export function runInScope<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(Object.freeze({ ...scope }), fn);
}

export function currentScope(): RequestScope | undefined {
  return storage.getStore();
}
