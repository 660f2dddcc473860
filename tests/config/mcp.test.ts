import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../../src/config/config-error.ts";
import { loadConfig, parseConfigText } from "../../src/config/load.ts";
import { mcpCredentialNames } from "../../src/config/mcp.ts";
import { addMcpServer, removeMcpServer } from "../../src/config/mcp-edit.ts";
import { tempHome } from "../harness/core.ts";

const parse = (text: string) => parseConfigText(text, "config.toml");
const problem = (text: string): string => {
  try {
    parse(text);
  } catch (error) {
    if (error instanceof ConfigError) return `${error.what} | ${error.fix}`;
    throw error;
  }
  return "accepted";
};

describe("[mcp.servers.<name>] in config.toml", () => {
  test("a stdio server and an HTTP server are accepted; credentials are named, never written", () => {
    const user = parse(`
[mcp.servers.files]
command = "/usr/bin/node"
args = ["server.js"]
env = { API_TOKEN = "files_token" }
allowed_groups = ["work"]
low_risk_tools = ["list-files"]

[mcp.servers.web]
url = "https://mcp.example.test/mcp"
headers = { Authorization = "web_auth" }
`);
    expect(user.mcp?.servers?.files?.env).toEqual({ API_TOKEN: "files_token" });
    expect(mcpCredentialNames(user.mcp?.servers?.web ?? {})).toEqual(["web_auth"]);
  });

  test("exactly one of command and url; no stdio keys on a url server", () => {
    expect(problem('[mcp.servers.a]\nargs = ["x"]\n')).toContain("needs exactly one of command and url");
    expect(problem('[mcp.servers.a]\ncommand = "/bin/x"\nurl = "http://127.0.0.1:1/"\n')).toContain("exactly one");
    expect(problem('[mcp.servers.a]\nurl = "http://127.0.0.1:1/"\nenv = { A = "b" }\n')).toContain("url server");
    // A url server's bridge has the network whatever the table says: network = false is refused, not ignored.
    expect(problem('[mcp.servers.a]\nurl = "https://mcp.example.test/"\nnetwork = false\n')).toContain(
      "network = false cannot hold",
    );
    expect(problem('[mcp.servers.a]\nurl = "https://mcp.example.test/"\nnetwork = true\n')).toBe("accepted");
  });

  test("a literal secret, a relative command, an unknown key and a bad name are refused", () => {
    expect(problem('[mcp.servers.a]\ncommand = "/bin/x"\nenv = { TOKEN = "ghp_live secret value!" }\n')).toContain(
      "mcp.servers.a.env.TOKEN",
    );
    expect(problem('[mcp.servers.a]\ncommand = "node"\n')).toContain("mcp.servers.a.command");
    expect(problem('[mcp.servers.a]\ncommand = "/bin/x"\nlow_risk = ["t"]\n')).toContain("low_risk_tools");
    expect(problem('[mcp.servers.Bad-Name]\ncommand = "/bin/x"\n')).toContain("not a valid MCP server name");
  });

  test("add appends a table that loads; rm removes only it and keeps the rest of the file", () => {
    const home = tempHome();
    writeFileSync(join(home, "config.toml"), "# mine\n[security]\nhandler_timeout_ms = 5000\n", { mode: 0o600 });
    addMcpServer(home, "fs", { command: "/usr/bin/node", args: ["s.js"], env: { TOKEN: "fs_token" } });
    addMcpServer(home, "web", { url: "http://127.0.0.1:9/mcp", headers: { Authorization: "web_auth" } });
    expect(loadConfig(home).mcp.servers.fs).toEqual({
      command: "/usr/bin/node",
      args: ["s.js"],
      env: { TOKEN: "fs_token" },
    });
    expect(() => addMcpServer(home, "fs", { command: "/bin/true" })).toThrow("configured already");
    expect(() => addMcpServer(home, "x", { command: "/bin/true", url: "http://h/" })).toThrow("exactly one");
    expect(removeMcpServer(home, "fs")).toBe(true);
    expect(removeMcpServer(home, "fs")).toBe(false);
    const text = readFileSync(join(home, "config.toml"), "utf8");
    expect(text).toContain("# mine");
    expect(text).not.toContain("[mcp.servers.fs]");
    expect(Object.keys(loadConfig(home).mcp.servers)).toEqual(["web"]);
    expect(loadConfig(home).security.handler_timeout_ms).toBe(5000);
  });
});
