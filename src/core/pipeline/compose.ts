import type { CallContext, Next, StageDef } from "./context.ts";
import { NO_TRACE, Rejection } from "./context.ts";

/**
 * Composes the stages into one chain (hono's compose.ts shape): each stage decides whether to call
 * `next`. A stage rejects by throwing Rejection; the chain records it on the context and stops.
 */
export function compose(stages: readonly StageDef[]): (ctx: CallContext) => Promise<void> {
  return async (ctx) => {
    let index = -1;
    const traced = ctx.trace !== NO_TRACE;
    const dispatch = async (i: number): Promise<void> => {
      if (i <= index) throw new Error("next() called twice in one stage");
      index = i;
      const def = stages[i];
      if (!def) return;
      const next: Next = () => dispatch(i + 1);
      try {
        await def.run(ctx, next);
        if (traced && !ctx.error) ctx.trace(`stage ${def.stage} ${def.name}: passed`);
      } catch (e) {
        if (!(e instanceof Rejection)) throw e;
        if (!ctx.error) {
          ctx.error = e.error;
          if (traced) ctx.trace(`stage ${def.stage} ${def.name}: rejected`, { code: e.error.code });
        }
      }
    };
    await dispatch(0);
  };
}
