/** `ipc`: the container's one way out. Imports only protocol/ and transport/ to start fast. */
import { existsSync, readFileSync } from "node:fs";
import pkg from "../../package.json" with { type: "json" };
import { fixOf, whatOf } from "../errors/user-error.ts";
import { DEFAULT_LIMITS } from "../protocol/limits.ts";
import { ZmqError } from "../transport/libzmq.ts";
import { IPC_USAGE, parseArgumentsObject, parseIpcArgs } from "./args.ts";
import { callCore } from "./call.ts";
import { checkIpcEnvironment } from "./environment.ts";

export const EXIT = { OK: 0, TOOL_ERROR: 1, USAGE: 2, TRANSPORT: 3 } as const;

function fail(code: number, component: string, what: string, fix: string): number {
  process.stderr.write(`[${component}] Error: ${what}. Fix: ${fix}.\n`);
  return code;
}

export function runIpc(argv: readonly string[]): number {
  const parsed = parseIpcArgs(argv);
  if (parsed.kind === "help") {
    process.stdout.write(`${IPC_USAGE}\n`);
    return EXIT.OK;
  }
  if (parsed.kind === "version") {
    process.stdout.write(`ipc ${pkg.version}\n`);
    return EXIT.OK;
  }
  if (parsed.kind === "forward") {
    return fail(EXIT.USAGE, "IPC", "forward mode runs only as the ipc program's entry", "run `ipc forward …` itself");
  }
  if (parsed.kind === "usage-error") {
    process.stderr.write(`[IPC] Error: ${parsed.message}. Fix: see the usage below.\n${IPC_USAGE}\n`);
    return EXIT.USAGE;
  }
  const socketPath = process.env.CARAPACE_SOCKET;
  if (!socketPath) return fail(EXIT.USAGE, "IPC", "CARAPACE_SOCKET is not set", "run ipc inside a Carapace session");
  if (!existsSync(socketPath)) {
    return fail(
      EXIT.TRANSPORT,
      "IPC",
      `no session socket at ${socketPath}`,
      "check that the core runs and the session is open",
    );
  }
  let text = parsed.argumentsText;
  if (text === null) {
    try {
      text = readFileSync(0, "utf8");
    } catch {
      return fail(EXIT.USAGE, "IPC", "could not read arguments from stdin", "pass the JSON object as an argument");
    }
  }
  const args = parseArgumentsObject(text);
  if (!args.ok) return fail(EXIT.USAGE, "IPC", args.message, 'pass a JSON object such as \'{"message":"hi"}\'');
  const timeout = Number(process.env.CARAPACE_IPC_TIMEOUT_MS) || DEFAULT_LIMITS.ipcTimeoutMs;
  let outcome: ReturnType<typeof callCore>;
  try {
    outcome = callCore(socketPath, parsed.topic, args.value, timeout);
  } catch (e) {
    return fail(
      EXIT.TRANSPORT,
      "IPC",
      e instanceof ZmqError ? e.detail : whatOf(e),
      fixOf(e, "check that the core runs"),
    );
  }
  if (outcome.kind === "result") {
    process.stdout.write(`${JSON.stringify(outcome.result)}\n`);
    return EXIT.OK;
  }
  if (outcome.kind === "error") {
    process.stderr.write(`${JSON.stringify(outcome.error)}\n`);
    return EXIT.TOOL_ERROR;
  }
  return fail(EXIT.TRANSPORT, "IPC", outcome.message, "check that the core runs and the session is open");
}

/** Refuses (exit 2) an environment that would make ipc run foreign code; null when ipc may go on. */
export function refuseForeignRuntime(env: Record<string, string | undefined>): number | null {
  const verdict = checkIpcEnvironment(env);
  if (verdict.ok) return null;
  return fail(EXIT.USAGE, "IPC", `${verdict.variable} is set and ${verdict.why}`, `unset ${verdict.variable}`);
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const refused = refuseForeignRuntime(process.env);
  if (refused !== null) {
    process.exit(refused);
  } else if (argv[0] === "guard-bash") {
    // Claude Code's PreToolUse hook for the Bash tool (managed settings); its own module, loaded only here.
    const { runGuardBash } = await import("./guard-bash.ts");
    process.exit(runGuardBash());
  } else if (argv[0] === "forward") {
    // Dynamic so a tool call never loads the relay; a null exit code means it is serving.
    const { runForward } = await import("./forward.ts");
    const code = runForward(argv.slice(1));
    if (code !== null) process.exit(code);
  } else {
    process.exit(runIpc(argv));
  }
}
