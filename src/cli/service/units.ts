/**
 * What `carapace service install` writes: a systemd unit (a user unit, or a system unit when run as
 * root) or a launchd agent on macOS. Each restarts the core when it fails, with a start-rate limit so a
 * core that cannot start does not loop forever.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { CORE_ALLOCATOR_ENV } from "../../platform/allocator-env.ts";

export const SERVICE_NAME = "carapace";
export const LAUNCHD_LABEL = "dev.carapace.core";
export const START_LIMIT_INTERVAL_S = 300;
export const START_LIMIT_BURST = 5;
export const RESTART_DELAY_S = 5;

export interface ServiceTarget {
  kind: "systemd-user" | "systemd-system" | "launchd";
  /** The file written. */
  path: string;
}

export function serviceTarget(
  env: Record<string, string | undefined> = process.env,
  platform: NodeJS.Platform = process.platform,
  uid = process.getuid?.() ?? 0,
): ServiceTarget {
  const home = env.HOME ?? homedir();
  // CARAPACE_SERVICE_KIND=launchd: tests on Linux install and remove the macOS agent through the same code.
  if (platform === "darwin" || env.CARAPACE_SERVICE_KIND === "launchd")
    return { kind: "launchd", path: join(home, "Library/LaunchAgents", `${LAUNCHD_LABEL}.plist`) };
  // CARAPACE_SYSTEMD_SYSTEM_DIR: for packagers and tests, which must not write /etc.
  const systemDir = env.CARAPACE_SYSTEMD_SYSTEM_DIR || "/etc/systemd/system";
  if (uid === 0) return { kind: "systemd-system", path: join(systemDir, `${SERVICE_NAME}.service`) };
  const config = env.XDG_CONFIG_HOME || join(home, ".config");
  return { kind: "systemd-user", path: join(config, "systemd/user", `${SERVICE_NAME}.service`) };
}

/** systemd quotes: a word with spaces, quotes or backslashes in double quotes, with escapes; `%` doubled. */
function systemdWord(word: string): string {
  const escaped = word.replace(/%/g, "%%");
  return /^[A-Za-z0-9_./:=+-]+$/.test(escaped) ? escaped : `"${escaped.replace(/(["\\])/g, "\\$1")}"`;
}

export function systemdUnit(opts: { binary: string; carapaceHome: string; system: boolean; user?: string }): string {
  return [
    "[Unit]",
    "Description=Carapace core (a personal AI agent that cannot hurt you)",
    "After=network-online.target",
    "Wants=network-online.target",
    `StartLimitIntervalSec=${START_LIMIT_INTERVAL_S}`,
    `StartLimitBurst=${START_LIMIT_BURST}`,
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${systemdWord(opts.binary)} start`,
    `Environment=${systemdWord(`CARAPACE_HOME=${opts.carapaceHome}`)}`,
    // Read by the allocator as the process starts; set here, `carapace start` need not re-exec for them.
    ...Object.entries(CORE_ALLOCATOR_ENV).map(([name, value]) => `Environment=${systemdWord(`${name}=${value}`)}`),
    ...(opts.system && opts.user ? [`User=${opts.user}`] : []),
    "Restart=on-failure",
    `RestartSec=${RESTART_DELAY_S}`,
    "KillSignal=SIGTERM",
    "TimeoutStopSec=30",
    "",
    "[Install]",
    `WantedBy=${opts.system ? "multi-user.target" : "default.target"}`,
    "",
  ].join("\n");
}

function xml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function launchdPlist(opts: { binary: string; carapaceHome: string }): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
    <string>${xml(opts.binary)}</string>
    <string>start</string>
  </array>
  <key>EnvironmentVariables</key>
  <dict>
    <key>CARAPACE_HOME</key>
    <string>${xml(opts.carapaceHome)}</string>
${Object.entries(CORE_ALLOCATOR_ENV)
  .map(([name, value]) => `    <key>${xml(name)}</key>\n    <string>${xml(value)}</string>\n`)
  .join("")}  </dict>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>${Math.ceil(START_LIMIT_INTERVAL_S / START_LIMIT_BURST)}</integer>
</dict>
</plist>
`;
}
