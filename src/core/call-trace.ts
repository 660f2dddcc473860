import type { SessionIdentity } from "../protocol/envelope.ts";
import { NO_TRACE } from "./pipeline/context.ts";
import { logLine } from "./response/log-stream.ts";

export type Trace = (hop: string, detail?: Record<string, unknown>) => void;
/** A call's hop-by-hop trace, bound to who called, the call's correlation and its topic. */
export type CallTracer = (identity: SessionIdentity, correlation: string | null, topic: string | null) => Trace;

/** `carapace start --debug [--trace-filter prefix]`: every hop of every call as a debug line; nothing without it. */
export function callTracer(debug: { traceFilter?: string } | undefined): CallTracer {
  if (!debug) return () => NO_TRACE;
  return (identity, correlation, topic) => (hop, detail) => {
    if (debug.traceFilter && !(topic ?? "").startsWith(debug.traceFilter)) return;
    const line = `session=${identity.sessionId.slice(0, 8)} group=${identity.group} corr=${correlation ?? "-"} topic=${topic ?? "-"} ${hop}${detail ? ` ${JSON.stringify(detail)}` : ""}`;
    logLine(line, { level: "debug", component: "trace" });
  };
}
