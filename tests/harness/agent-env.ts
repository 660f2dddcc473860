import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ScriptedTurn, startScriptedModel } from "../../src/agent/scripted-model.ts";
import { writeCredential } from "../../src/config/credentials.ts";
import { ensureHome } from "../../src/config/home.ts";
import { instanceId } from "../../src/container/lockdown.ts";
import { testAgentImage } from "../container/agent-image.ts";
import { tempHome } from "./core.ts";
import { reportRuntimeSkip } from "./runtime-required.ts";

export const REAL_KEY = "sk-ant-api03-REALKEY-only-the-host-proxy-knows-this-000000";

/** This clone's agent image (tagged with its recipe digest; built from local inputs when missing). */
export const agentImage = await testAgentImage();
/** Why the agent suites cannot run here, or null when they can (real Podman and the agent image). */
export const agentSkipReason: string | null = agentImage.skipReason;
reportRuntimeSkip("agent end-to-end", agentSkipReason);

/**
 * A temp home whose egress upstream is a scripted model on loopback, with a real-looking key stored,
 * running this clone's agent image (or options.image).
 */
export async function agentHome(turns: ScriptedTurn[], extraConfig = "", options: { image?: string } = {}) {
  const model = await startScriptedModel({ turns });
  const home = tempHome();
  ensureHome(home);
  const port = new URL(model.url).port;
  writeFileSync(
    join(home, "config.toml"),
    `[network]\nupstream_url = "${model.url}"\nupstream_allowlist = ["127.0.0.1:${port}"]\n` +
      `[runtime]\nimage = "${options.image ?? agentImage.tag}"\n${extraConfig}`,
    { mode: 0o600 },
  );
  writeCredential(home, "anthropic_api_key", REAL_KEY);
  return { home, model };
}

/** The container engine a suite lists containers on: Podman as is, or a client with its own environment. */
export interface ContainerEngineClient {
  client: string;
  env?: Record<string, string | undefined>;
}

/**
 * Names of this home's containers on that engine (Podman unless told), running or not (other suites on the
 * machine run their own). A listing that fails throws: an empty answer must mean none are left.
 */
export function homeContainers(home: string, engine: ContainerEngineClient = { client: "podman" }): string[] {
  const listed = Bun.spawnSync(
    [engine.client, "ps", "-a", "--filter", `label=io.carapace.instance=${instanceId(home)}`, "--format", "{{.Names}}"],
    { env: engine.env, stderr: "pipe" },
  );
  if (listed.exitCode !== 0) {
    throw new Error(`${engine.client} ps exited ${listed.exitCode}: ${listed.stderr.toString().trim()}`);
  }
  return listed.stdout.toString().split("\n").filter(Boolean);
}
