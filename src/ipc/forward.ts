/**
 * `ipc forward`: inside the container there is no network but `lo`. Claude Code talks HTTP to
 * 127.0.0.1:<port> (its ANTHROPIC_BASE_URL); this relays every request, streaming both ways, to the
 * host's egress proxy on the mounted Unix socket. No policy here: the host proxy decides everything.
 * Loaded with a dynamic import so `ipc`'s tool-call start-up never pays for it.
 */
import { isAbsolute } from "node:path";

export const FORWARD_USAGE = `Usage: ipc forward --listen 127.0.0.1:<port> --socket <absolute path>   (port 0: any free port)

Relays HTTP from a loopback port to the Carapace egress proxy on a Unix socket (the agent's API access).
Prints one line "ipc forward: listening on 127.0.0.1:<port>" on stdout once it accepts connections,
then runs until it is terminated.
Exit codes: 0 terminated; 2 usage error; 3 cannot listen on the port.`;

export interface ForwardArgs {
  host: "127.0.0.1";
  port: number;
  socket: string;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
]);

export function parseForwardArgs(
  argv: readonly string[],
): { ok: true; value: ForwardArgs } | { ok: false; message: string } {
  let listen: string | undefined;
  let socket: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag !== "--listen" && flag !== "--socket") return { ok: false, message: `unknown argument ${flag}` };
    if (value === undefined) return { ok: false, message: `${flag} needs a value` };
    if (flag === "--listen") listen = value;
    else socket = value;
    i++;
  }
  if (listen === undefined || socket === undefined)
    return { ok: false, message: "both --listen and --socket are required" };
  const match = /^127\.0\.0\.1:(\d{1,5})$/.exec(listen);
  const port = Number(match?.[1]);
  if (match === null || port > 65535) {
    return { ok: false, message: `--listen must be 127.0.0.1:<port 0-65535>, not "${listen.slice(0, 64)}"` };
  }
  if (!isAbsolute(socket)) return { ok: false, message: "--socket must be an absolute path" };
  return { ok: true, value: { host: "127.0.0.1", port, socket } };
}

function relayHeaders(incoming: Headers): Headers {
  const out = new Headers();
  for (const [name, value] of incoming) if (!HOP_BY_HOP.has(name)) out.append(name, value);
  return out;
}

function unreachable(socket: string): Response {
  return Response.json(
    {
      type: "error",
      error: {
        type: "api_error",
        message: `ipc forward: the egress proxy at ${socket} is not reachable (session ended?)`,
      },
    },
    { status: 502 },
  );
}

/** Starts the relay; it accepts connections when this returns. Port 0 picks a free port. */
export function startForwarder(args: ForwardArgs): { port: number; stop(): Promise<void> } {
  const server = Bun.serve({
    hostname: args.host,
    port: args.port,
    // Streamed answers can pause while the model thinks; the host proxy and upstream own the time limits.
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const hasBody = req.method !== "GET" && req.method !== "HEAD";
      try {
        const res = await fetch(`http://localhost${url.pathname}${url.search}`, {
          unix: args.socket,
          method: req.method,
          headers: relayHeaders(req.headers),
          body: hasBody ? req.body : null,
          redirect: "manual",
          decompress: false,
          timeout: false,
          signal: req.signal,
        });
        return new Response(res.body, {
          status: res.status,
          statusText: res.statusText,
          headers: relayHeaders(res.headers),
        });
      } catch {
        return unreachable(args.socket);
      }
    },
  });
  return {
    port: server.port ?? args.port,
    stop: async () => {
      await server.stop(true);
    },
  };
}

/** The `ipc forward` entry: never returns while serving; the exit code is for start-up failures. */
export function runForward(argv: readonly string[]): number | null {
  if (argv[0] === "--help" || argv[0] === "-h") {
    process.stdout.write(`${FORWARD_USAGE}\n`);
    return 0;
  }
  const parsed = parseForwardArgs(argv);
  if (!parsed.ok) {
    process.stderr.write(`[IPC] Error: ${parsed.message}. Fix: see the usage below.\n${FORWARD_USAGE}\n`);
    return 2;
  }
  let port: number;
  try {
    port = startForwarder(parsed.value).port;
  } catch (error) {
    process.stderr.write(
      `[IPC] Error: cannot listen on 127.0.0.1:${parsed.value.port} (${(error as Error).message}). Fix: choose another CARAPACE_FORWARD_PORT.\n`,
    );
    return 3;
  }
  process.stdout.write(`ipc forward: listening on 127.0.0.1:${port}\n`);
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => process.exit(0));
  return null;
}
