/**
 * The scripted model for the development compose (compose.yaml): the same loopback stand-in for the
 * Anthropic Messages API the tests use, on a fixed port. It is NOT a model: each request gets the next
 * turn of the script (a JSON array of turns in --turns, or one greeting), then a fixed "no more turns".
 *
 * Usage: bun build/dev/scripted-model.ts [--port 18788] [--turns turns.json]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type ScriptedTurn, startScriptedModel } from "../../src/agent/scripted-model.ts";

const { values } = parseArgs({
  options: { port: { type: "string", default: "18788" }, turns: { type: "string" } },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`[DEV] Error: --port ${values.port} is not a port. Fix: pass a number from 1 to 65535.`);
  process.exit(2);
}
const turns: ScriptedTurn[] = values.turns
  ? (JSON.parse(readFileSync(values.turns, "utf8")) as ScriptedTurn[])
  : [{ text: "[scripted model] Hello from the development compose: this answer is canned, not a model's." }];
const model = await startScriptedModel({ port, turns });
console.log(`[DEV] scripted model (not a model) listening on ${model.url}`);
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => void model.close().then(() => process.exit(0)));
}
