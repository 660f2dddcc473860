import type { loadConfig } from "../config/load.ts";
import { listPlugins } from "../plugins/validate.ts";
import type { CheckResult } from "./check.ts";

const TURN_OFF = "`carapace config set hello.enabled false` (then restart the core)";

/** The hello tools are for a first run; doctor always says how to turn them off, more firmly once plugins load. */
export function checkHello(home: string, config: ReturnType<typeof loadConfig> | null): CheckResult {
  if (config?.hello.enabled === false)
    return { id: "hello", title: "hello tools", level: "pass", detail: "off ([hello] enabled = false)" };
  const hint =
    pluginsLoading(home, config) > 0
      ? `real plugins load too, so you may not need them: turn them off with ${TURN_OFF}`
      : `turn them off with ${TURN_OFF} once you no longer need them`;
  return {
    id: "hello",
    title: "hello tools",
    level: "pass",
    detail: `on (hello.greet, hello.echo, hello.time); ${hint}`,
  };
}

function pluginsLoading(home: string, config: ReturnType<typeof loadConfig> | null): number {
  try {
    const listed = listPlugins({ home, dirs: config?.plugins.dirs ?? [], disabled: config?.plugins.disabled ?? [] });
    return listed.filter((p) => p.state === "ok" && p.source !== "builtin").length;
  } catch {
    return 0;
  }
}
