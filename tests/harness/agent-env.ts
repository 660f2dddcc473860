import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ScriptedTurn, startScriptedModel } from "../../src/agent/scripted-model.ts";
import { writeCredential } from "../../src/config/credentials.ts";
import { ensureHome } from "../../src/config/home.ts";
import { CARAPACE_VERSION } from "../../src/config/version.ts";
import { tempHome } from "./core.ts";
import { reportRuntimeSkip } from "./runtime-required.ts";

export const REAL_KEY = "sk-ant-api03-REALKEY-only-the-host-proxy-knows-this-000000";

const podman = Bun.spawnSync(["sh", "-c", "command -v podman"]).exitCode === 0;
const image =
  podman && Bun.spawnSync(["podman", "image", "exists", `localhost/carapace-agent:${CARAPACE_VERSION}`]).exitCode === 0;
/** Why the agent suites cannot run here, or null when they can (real Podman and the agent image). */
export const agentSkipReason: string | null = !podman
  ? "podman is not installed"
  : !image
    ? `the agent image localhost/carapace-agent:${CARAPACE_VERSION} is not built (bun build/image/agent.ts --ipc dist/ipc)`
    : null;
reportRuntimeSkip("agent end-to-end", agentSkipReason);

/** A temp home whose egress upstream is a scripted model on loopback, with a real-looking key stored. */
export async function agentHome(turns: ScriptedTurn[], extraConfig = "") {
  const model = await startScriptedModel({ turns });
  const home = tempHome();
  ensureHome(home);
  const port = new URL(model.url).port;
  writeFileSync(
    join(home, "config.toml"),
    `[network]\nupstream_url = "${model.url}"\nupstream_allowlist = ["127.0.0.1:${port}"]\n${extraConfig}`,
    { mode: 0o600 },
  );
  writeCredential(home, "anthropic_api_key", REAL_KEY);
  return { home, model };
}
