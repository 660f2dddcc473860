/**
 * `carapace mcp add|list|rm|test|secret`: MCP servers as plugins (docs/MCP.md). `add` and `rm` edit
 * `[mcp.servers.<name>]` in config.toml (the core picks them up at its next start); `list` shows each
 * server's tools with their risk levels and the tools the core refused; `test` calls one tool through
 * the six stages as the operator; `secret` stores a credential a server's config names.
 */
import { defineCommand } from "citty";
import { assertCredentialKey, listCredentials, writeCredential } from "../config/credentials.ts";
import { loadConfig } from "../config/load.ts";
import { MCP_SERVER_NAME_PATTERN, type McpServerConfig } from "../config/mcp.ts";
import { addMcpServer, removeMcpServer } from "../config/mcp-edit.ts";
import { scrubString } from "../core/response/sanitize.ts";
import { singleLine, stripTerminalEscapes } from "../core/response/terminal-text.ts";
import { checkPluginName } from "../plugins/manifest-check.ts";
import type { McpServerView } from "../plugins/mcp/status-view.ts";
import { reservedCredentialReason } from "../plugins/reserved.ts";
import { operatorCall } from "./call.ts";
import { control } from "./control-client.ts";
import { CliError, EXIT, UserError } from "./errors.ts";
import { printJson, withHome } from "./run-command.ts";
import { readSecret } from "./secret-input.ts";

const SERVER_NAME = new RegExp(MCP_SERVER_NAME_PATTERN);

function clean(text: string, max = 200): string {
  return singleLine(stripTerminalEscapes(text)).slice(0, max);
}

function serverName(value: unknown): string {
  const name = String(value);
  if (!SERVER_NAME.test(name))
    throw new CliError(
      "MCP",
      "that is not a valid MCP server name",
      "use a lowercase letter, then up to 31 of a-z, 0-9 and _ (it becomes the tools' namespace)",
      EXIT.usage,
    );
  return name;
}

/** Every value of a repeatable flag, in order (`--arg=x --arg y`); citty itself keeps only the last. */
function many(rawArgs: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const word = rawArgs[i] as string;
    if (word === "--") break;
    if (word.startsWith(`--${flag}=`)) out.push(word.slice(flag.length + 3));
    else if (word === `--${flag}` && i + 1 < rawArgs.length) out.push(rawArgs[++i] as string);
  }
  return out;
}

/** `NAME=credential` pairs: the value names a credential-store entry, never the secret itself. */
function credentialMap(home: string, values: string[], flag: string): Record<string, string> | undefined {
  if (values.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const pair of values) {
    const eq = pair.indexOf("=");
    const key = pair.slice(0, eq);
    const credential = pair.slice(eq + 1);
    if (eq <= 0)
      throw new CliError(
        "MCP",
        `each ${flag} must be NAME=credential`,
        `e.g. ${flag} GITHUB_TOKEN=github_token`,
        EXIT.usage,
      );
    try {
      assertCredentialKey(credential);
    } catch {
      throw new CliError(
        "MCP",
        `${flag} ${clean(key, 64)}=… does not name a credential`,
        "store the secret with `carapace auth` style names (lowercase a-z, 0-9, _ . -) and pass that name, never the secret",
        EXIT.usage,
      );
    }
    // A secret typed here by mistake would be written into config.toml: only a stored name is taken.
    if (!listCredentials(home).includes(credential))
      throw new CliError(
        "MCP",
        `${flag} ${clean(key, 64)}=… names no stored credential`,
        "store the secret first (`carapace mcp secret <name>`, it reads stdin or a hidden prompt) and pass that name, never the secret",
        EXIT.usage,
      );
    out[key] = credential;
  }
  return out;
}

/** The running core's MCP servers, or null when no core runs. */
export function liveServers(home: string): McpServerView[] | null {
  try {
    return control(home, "mcp.status") as McpServerView[];
  } catch (error) {
    if (error instanceof UserError && error.exitCode === EXIT.transport) return null;
    throw error;
  }
}

const addCommand = defineCommand({
  meta: {
    name: "add",
    description:
      "Add an MCP server to config.toml: a stdio command (--command, --arg) or a streamable-HTTP --url; secrets by credential name only.\n" +
      "The core starts it at its next start. Exit codes: 0 added; 1 config.toml is invalid; 2 usage (bad flags, name taken).",
  },
  args: {
    name: { type: "positional", description: "Server name; its tools are called <name>.<tool>", required: true },
    command: { type: "string", description: "Absolute path of the server's executable (stdio)" },
    arg: { type: "string", description: "One argument of the command (repeat it; write --arg=--flag for a dash)" },
    url: { type: "string", description: "The server's streamable-HTTP endpoint" },
    env: {
      type: "string",
      description: "VAR=credential: an environment variable taken from the credential store (repeat it)",
    },
    header: {
      type: "string",
      description: "Header=credential: an HTTP header taken from the credential store (repeat it)",
    },
    path: { type: "string", description: "A host folder the server needs, bound read-only (repeat it)" },
    group: { type: "string", description: "A group allowed to call its tools (repeat it; default every group)" },
    "low-risk": { type: "string", description: "A tool (its MCP name) that needs no approval (repeat it)" },
    "high-risk": { type: "string", description: "A tool that needs approval even if the server marks it read-only" },
    network: { type: "boolean", description: "Let a stdio server reach the network", default: false },
    json: { type: "boolean", description: "Print what was added as JSON", default: false },
  },
  run: ({ args, rawArgs }) =>
    withHome((home) => {
      const name = serverName(args.name);
      // The core refuses a server named like one of its own namespaces or folders; so does add.
      const reserved = checkPluginName(name);
      if (reserved) throw new CliError("MCP", reserved.message, "choose another name for the server", EXIT.usage);
      const command = typeof args.command === "string" ? args.command : undefined;
      const url = typeof args.url === "string" ? args.url : undefined;
      if ((command === undefined) === (url === undefined))
        throw new CliError(
          "MCP",
          "give exactly one of --command and --url",
          "e.g. --command /usr/bin/node --arg=server.js",
          EXIT.usage,
        );
      // An argument is on the host's process list and in config.toml: a secret belongs in --env.
      const secretArg = many(rawArgs, "arg").findIndex((a) => scrubString(a).changed);
      if (secretArg >= 0)
        throw new CliError(
          "MCP",
          `--arg number ${secretArg + 1} looks like it holds a secret (arguments are visible to every process on the host)`,
          "store the secret with `carapace mcp secret <name>` and pass it as --env VAR=<name>, or give the server a file to read it from",
          EXIT.usage,
        );
      const server: McpServerConfig = {
        ...(command !== undefined ? { command } : {}),
        ...(command !== undefined && many(rawArgs, "arg").length > 0 ? { args: many(rawArgs, "arg") } : {}),
        ...(url !== undefined ? { url } : {}),
      };
      const env = credentialMap(home, many(rawArgs, "env"), "--env");
      const headers = credentialMap(home, many(rawArgs, "header"), "--header");
      if (env) server.env = env;
      if (headers) server.headers = headers;
      if (many(rawArgs, "path").length > 0) server.paths = many(rawArgs, "path");
      if (many(rawArgs, "group").length > 0) server.allowed_groups = many(rawArgs, "group");
      if (many(rawArgs, "low-risk").length > 0) server.low_risk_tools = many(rawArgs, "low-risk");
      if (many(rawArgs, "high-risk").length > 0) server.high_risk_tools = many(rawArgs, "high-risk");
      if (args.network === true) server.network = true;
      const path = addMcpServer(home, name, server);
      if (args.json) printJson({ added: name, server, path });
      else
        process.stdout.write(
          `Added MCP server ${name} to ${path}. Restart the core (\`carapace stop\`, then \`carapace start\`) to load it; \`carapace mcp list\` shows its tools.\n`,
        );
      return EXIT.ok;
    }),
});

const removeCommand = defineCommand({
  meta: {
    name: "rm",
    description:
      "Remove an MCP server from config.toml (the running core keeps it until it restarts).\n" +
      "Exit codes: 0 removed; 1 no such server or config.toml is invalid; 2 usage.",
  },
  args: {
    name: { type: "positional", description: "Server name", required: true },
    json: { type: "boolean", description: "Print the outcome as JSON", default: false },
  },
  run: ({ args }) =>
    withHome((home) => {
      const name = serverName(args.name);
      if (!removeMcpServer(home, name))
        throw new CliError("MCP", `no MCP server named ${name} is configured`, "list them with `carapace mcp list`");
      if (args.json) printJson({ removed: name });
      else process.stdout.write(`Removed MCP server ${name}; it stops with the core's next restart.\n`);
      return EXIT.ok;
    }),
});

const listCommand = defineCommand({
  meta: {
    name: "list",
    description:
      "List the configured MCP servers; with a running core, each one's state, tools and risk levels, and the tools it refused and why.\n" +
      "Exit codes: 0 listed; 1 config.toml is invalid.",
  },
  args: { json: { type: "boolean", description: "Print JSON", default: false } },
  run: ({ args }) =>
    withHome((home) => {
      const configured = loadConfig(home).mcp.servers;
      const live = liveServers(home);
      const rows = Object.entries(configured)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, server]) => {
          const running = live?.find((s) => s.name === name);
          return {
            name,
            transport: server.url !== undefined ? "http" : "stdio",
            target: server.url ?? server.command ?? "",
            ...(live ? { live: running ?? { state: "not loaded", tools: [], refused: [] } } : {}),
          };
        });
      if (args.json) {
        printJson({ core_running: live !== null, servers: rows });
        return EXIT.ok;
      }
      if (rows.length === 0) process.stdout.write("No MCP servers are configured; add one with `carapace mcp add`.\n");
      if (!live && rows.length > 0) process.stdout.write("core: not running (start it to see the servers' tools)\n");
      for (const r of rows) {
        const state = r.live ? r.live.state : "configured";
        process.stdout.write(`${r.name} (${r.transport} ${clean(r.target, 120)}): ${state}\n`);
        const failure = r.live as Partial<McpServerView> | undefined;
        if (failure?.category) process.stdout.write(`  ${failure.category}: ${clean(failure.reason ?? "")}\n`);
        for (const t of r.live?.tools ?? [])
          process.stdout.write(`  ${t.name.padEnd(32)} ${t.risk_level.padEnd(4)}  ${clean(t.description, 80)}\n`);
        for (const t of r.live?.refused ?? [])
          process.stdout.write(`  refused ${clean(t.tool, 64)}: ${t.category}: ${clean(t.reason)}\n`);
      }
      return EXIT.ok;
    }),
});

const testCommand = defineCommand({
  meta: {
    name: "test",
    description:
      "Call one tool of an MCP server through the six stages as the operator (high-risk tools wait for approval).\n" +
      "Exit codes: 0 result on stdout; 1 error object on stderr; 2 usage; 3 core not running.",
  },
  args: {
    name: { type: "positional", description: "Server name", required: true },
    tool: { type: "positional", description: "The tool's name after the server's, e.g. read_note", required: true },
    arguments: { type: "positional", description: "Arguments as a JSON object", required: false, default: "{}" },
    group: { type: "string", description: "Group to call as", default: "default" },
    json: { type: "boolean", description: "Print the whole reply on stdout", default: false },
  },
  run: ({ args }) =>
    withHome((home) =>
      operatorCall(home, {
        tool: `${serverName(args.name)}.${String(args.tool)}`,
        arguments: String(args.arguments),
        group: String(args.group),
        json: args.json === true,
      }),
    ),
});

const secretCommand = defineCommand({
  meta: {
    name: "secret",
    description:
      "Store a credential an MCP server's env or headers name, read from stdin or a hidden prompt (never from the command line).\n" +
      "Exit codes: 0 stored; 1 not writable; 2 usage (invalid name, empty input).",
  },
  args: {
    credential: { type: "positional", description: "The credential's name, e.g. github_token", required: true },
    json: { type: "boolean", description: "Print the outcome as JSON", default: false },
  },
  run: ({ args }) =>
    withHome(async (home) => {
      const name = String(args.credential);
      assertCredentialKey(name);
      const reserved = reservedCredentialReason(name);
      if (reserved)
        throw new CliError(
          "MCP",
          `the credential name ${name} is reserved: ${reserved}`,
          "pick another name",
          EXIT.usage,
        );
      const value = (await readSecret(`Value of ${name} (hidden): `)).trim();
      if (value === "")
        throw new CliError(
          "MCP",
          "no value was given",
          `pipe it in: printf %s "$TOKEN" | carapace mcp secret ${name}`,
          EXIT.usage,
        );
      writeCredential(home, name, value);
      if (args.json) printJson({ stored: name });
      else process.stdout.write(`Stored credential ${name}; name it in an MCP server's env or headers.\n`);
      return EXIT.ok;
    }),
});

export const mcpCommand = defineCommand({
  meta: {
    name: "mcp",
    description:
      "Run MCP servers as plugins: add, list (tools and risk levels), remove, and test a tool through the pipeline.\n" +
      "Exit codes: see each subcommand (0 success; 1 failure; 2 usage; 3 core not running).",
  },
  subCommands: { add: addCommand, list: listCommand, rm: removeCommand, test: testCommand, secret: secretCommand },
});
