import type { CallContext, StageDef } from "./context.ts";
import { NO_TRACE, Rejection } from "./context.ts";

/** The composed stages: a promise while a stage is still at work, nothing when every stage finished at once. */
export type Pipeline = (ctx: CallContext) => Promise<void> | undefined;

/**
 * Composes the stages into one chain, run in order. A stage rejects by throwing Rejection (or by a
 * promise that rejects with one): the chain records it on the context and no later stage runs. A stage
 * that returns a promise is waited for before the next one starts; one that returns nothing is done, so
 * the stages that decide at once (all but a confirmation's wait and stage 6's tool) cost no promise and
 * no microtask hop. Any other error propagates as a rejected promise (the runner turns it into a
 * generic error).
 */
export function compose(stages: readonly StageDef[]): Pipeline {
  const from = (ctx: CallContext, first: number): Promise<void> | undefined => {
    for (let i = first; i < stages.length; i++) {
      const def = stages[i] as StageDef;
      let pending: undefined | Promise<void>;
      try {
        pending = def.run(ctx);
      } catch (e) {
        return stopped(ctx, def, e);
      }
      if (pending !== undefined)
        return pending.then(
          () => {
            passed(ctx, def);
            return from(ctx, i + 1);
          },
          (e: unknown) => stopped(ctx, def, e),
        );
      passed(ctx, def);
    }
    return undefined;
  };
  return (ctx) => from(ctx, 0);
}

function passed(ctx: CallContext, def: StageDef): void {
  if (ctx.trace !== NO_TRACE && !ctx.error) ctx.trace(`stage ${def.stage} ${def.name}: passed`);
}

/** A rejection is the call's answer (the first one wins); anything else is the runner's to handle. */
function stopped(ctx: CallContext, def: StageDef, e: unknown): undefined | Promise<never> {
  if (!(e instanceof Rejection)) return Promise.reject(e);
  if (!ctx.error) {
    ctx.error = e.error;
    if (ctx.trace !== NO_TRACE) ctx.trace(`stage ${def.stage} ${def.name}: rejected`, { code: e.error.code });
  }
  return undefined;
}
