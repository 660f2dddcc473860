import { toInvokeTopic } from "../protocol/topics.ts";

export const IPC_USAGE = `Usage: ipc <tool|tool.invoke.tool> ['<json-object>']
       ipc <tool> -            read the arguments object from stdin
       ipc forward --listen 127.0.0.1:<port> --socket <path>   relay the agent's API traffic (see ipc forward --help)

Sends one tool call to the Carapace core over the session socket in $CARAPACE_SOCKET.
Environment: CARAPACE_SOCKET (required), CARAPACE_IPC_TIMEOUT_MS (default 35000).
Exit codes: 0 success (result JSON on stdout); 1 the call was answered with an error (error JSON on stderr);
            2 usage error; 3 transport failure or timeout.`;

export type IpcArgs =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "call"; topic: string; argumentsText: string | null }
  | { kind: "forward"; argv: string[] }
  | { kind: "usage-error"; message: string };

/** Parses argv (without the executable). `argumentsText` null means: read from stdin. */
export function parseIpcArgs(argv: readonly string[]): IpcArgs {
  const [first, second, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h") {
    return first === undefined ? { kind: "usage-error", message: "missing tool name" } : { kind: "help" };
  }
  if (first === "--version") return { kind: "version" };
  if (first === "forward") return { kind: "forward", argv: argv.slice(1) };
  if (first.startsWith("-")) return { kind: "usage-error", message: `unknown option ${first}` };
  if (rest.length > 0) return { kind: "usage-error", message: "too many arguments (quote the JSON object)" };
  return {
    kind: "call",
    topic: toInvokeTopic(first),
    argumentsText: second === undefined || second === "-" ? null : second,
  };
}

/** The arguments must be a JSON object; anything else is a usage error before anything is sent. */
export function parseArgumentsObject(
  text: string,
): { ok: true; value: Record<string, unknown> } | { ok: false; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(text.trim() === "" ? "{}" : text);
  } catch {
    return { ok: false, message: "arguments are not valid JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, message: "arguments must be a JSON object" };
  }
  return { ok: true, value: value as Record<string, unknown> };
}
