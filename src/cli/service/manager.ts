/**
 * The service manager commands behind `carapace service`. CARAPACE_SYSTEMCTL / CARAPACE_LAUNCHCTL name
 * the binaries (default: found on PATH), so tests record the command lines instead of enabling units.
 */
import { LAUNCHD_LABEL, SERVICE_NAME, type ServiceTarget } from "./units.ts";

export function managerCommands(
  target: ServiceTarget,
  action: "enable" | "disable" | "status",
  env: Record<string, string | undefined> = process.env,
): string[][] {
  if (target.kind === "launchd") {
    const launchctl = env.CARAPACE_LAUNCHCTL || "launchctl";
    if (action === "enable") return [[launchctl, "load", "-w", target.path]];
    if (action === "disable") return [[launchctl, "unload", "-w", target.path]];
    return [[launchctl, "list", LAUNCHD_LABEL]];
  }
  const systemctl = [env.CARAPACE_SYSTEMCTL || "systemctl", ...(target.kind === "systemd-user" ? ["--user"] : [])];
  const unit = `${SERVICE_NAME}.service`;
  if (action === "enable")
    return [
      [...systemctl, "daemon-reload"],
      [...systemctl, "enable", "--now", unit],
    ];
  if (action === "disable") return [[...systemctl, "disable", "--now", unit]];
  return [[...systemctl, "status", "--no-pager", unit]];
}

export async function runManager(argv: string[]): Promise<{ code: number; output: string }> {
  try {
    const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { code, output: out + err };
  } catch (error) {
    return { code: 127, output: (error as Error).message };
  }
}
