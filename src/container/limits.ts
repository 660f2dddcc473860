import { ContainerError } from "./errors.ts";
import type { RuntimeInfo } from "./runtime.ts";

/** Refuses a session whose memory/pids limits would be silently dropped, unless explicitly allowed. */
export function assertLimitsEnforced(info: RuntimeInfo, allowUnenforcedLimits: boolean): void {
  if (info.enforcesLimits || allowUnenforcedLimits) return;
  const why = info.rootless
    ? `rootless ${info.name} on cgroup ${info.cgroupVersion || "v1"} cannot enforce memory and pids limits`
    : `${info.name} reports no memory/pids cgroup controllers, so limits would be dropped`;
  throw new ContainerError(
    `${why}; refusing to start an agent container without them`,
    "run the runtime rootful (e.g. sudo), move to a cgroup v2 host with delegated controllers, or accept the risk with `carapace config set runtime.allow_rootless_unlimited true`",
  );
}
