/**
 * Prepares the development home of the compose core (compose.yaml): the home layout, a config.toml whose
 * model upstream is the scripted model on loopback, and a placeholder API key (the scripted model accepts
 * any). An existing config.toml or credential is kept, so a developer's changes survive restarts.
 *
 * Usage: CARAPACE_HOME=<dev home> bun build/dev/home.ts [--model-port 18788]
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeCredential } from "../../src/config/credentials.ts";
import { ensureHome, resolveHome } from "../../src/config/home.ts";

const { values } = parseArgs({ options: { "model-port": { type: "string", default: "18788" } } });
const home = resolveHome();
ensureHome(home);
const config = join(home, "config.toml");
if (!existsSync(config)) {
  const upstream = `127.0.0.1:${values["model-port"]}`;
  writeFileSync(
    config,
    `# The development home of compose.yaml: the model is the scripted stand-in, never the real API.\n` +
      `[network]\nupstream_url = "http://${upstream}"\nupstream_allowlist = ["${upstream}"]\n`,
    { mode: 0o600 },
  );
}
if (!existsSync(join(home, "credentials", "anthropic_api_key"))) {
  writeCredential(home, "anthropic_api_key", "sk-ant-development-scripted-model-placeholder");
}
console.log(`[DEV] development home ${home} is ready`);
