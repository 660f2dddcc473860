/**
 * Preloaded into every test run (bunfig.toml): an afterAll here runs once, after the last test file.
 * Resources one test file starts for the whole run (the test dockerd, tests/container/docker-env.ts)
 * register their teardown under RUN_END and are stopped here, by their pid.
 */
import { afterAll } from "bun:test";

export const RUN_END = Symbol.for("carapace.test.runEnd");
type Holder = { [RUN_END]?: (() => Promise<void>)[] };

/** Registers a teardown for the end of the whole test run. */
export function atRunEnd(teardown: () => Promise<void>): void {
  const holder = globalThis as Holder;
  holder[RUN_END] ??= [];
  holder[RUN_END].push(teardown);
}

afterAll(async () => {
  const teardowns = (globalThis as Holder)[RUN_END] ?? [];
  (globalThis as Holder)[RUN_END] = [];
  await Promise.all(teardowns.map((t) => t()));
}, 180_000);
