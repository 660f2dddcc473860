import type { Catalog } from "../../plugins/catalog.ts";
import { errorObject } from "../../protocol/errors.ts";
import { toolFromTopic } from "../../protocol/topics.ts";
import { type CallContext, Rejection, type StageDef } from "./context.ts";

/** Stage 2: only `tool.invoke.<tool>` for a tool in the catalog passes. */
export function topicWhitelist(catalog: Catalog): StageDef {
  return {
    name: "topic whitelist",
    stage: 2,
    run(ctx: CallContext) {
      const topic = ctx.envelope?.topic ?? "";
      const name = toolFromTopic(topic);
      const tool = name ? catalog.get(name) : undefined;
      if (!tool) throw new Rejection(errorObject("UNKNOWN_TOOL", "unknown tool"));
      ctx.tool = tool;
      return undefined;
    },
  };
}
