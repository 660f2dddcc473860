import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { writeCredential } from "../../src/config/credentials.ts";
import { controlSocketPath } from "../../src/core/control.ts";
import { seccompArch } from "../../src/plugins/supervisor/seccomp.ts";
import { installPlugin } from "../fixtures/plugins/install.ts";
import { type RunningCore, startCore, tempHome } from "../harness/core.ts";

/**
 * A plugin process sees only its own folder, its data folder and its socket (docs/THREAT_MODEL.md,
 * "Plugins"). Each probe names a host path or socket that really exists and is reachable from the
 * core's side; from inside the plugin it must not be.
 */

type Json = Record<string, unknown>;
const isRoot = process.getuid?.() === 0;

describe("what a plugin process can reach (compiled core, real plugin processes)", () => {
  let core: RunningCore;
  let session: { id: string; socket: string; group: string };
  let tcp: Server;
  let port = 0;
  let tcpConnections = 0;

  const call = async (tool: string, args: Json): Promise<Json> => {
    const r = await core.ipc(session.socket, tool, args);
    if (r.code !== 0) throw new Error(`${tool} failed: ${r.stdout}${r.stderr}`);
    return JSON.parse(r.stdout) as Json;
  };

  beforeAll(async () => {
    const home = tempHome();
    installPlugin(home, "escape-probe");
    installPlugin(home, "net-probe");
    installPlugin(home, "services-probe");
    writeCredential(home, "anthropic_api_key", "sk-ant-model-key-the-plugin-must-not-see");
    writeCredential(home, "probe_token", "its-own-token");
    writeCredential(home, "other_token", "another-plugins-token");
    tcp = createServer((socket) => {
      tcpConnections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
    port = (tcp.address() as { port: number }).port;
    core = await startCore({
      home,
      config: ["[security]", "rate_limit_per_minute = 6000", "rate_limit_burst = 100", ""].join("\n"),
    });
    session = await core.openSession("probe");
  });
  afterAll(async () => {
    await core.stop();
    tcp.close();
  });

  test("the probe runs (its own folder and data folder work), under nobody's uid when the core is root", async () => {
    const who = await call("escape_probe.whoami", {});
    expect(who.wrote).toBe(true);
    if (isRoot) expect(who.uid).toBe(65534);
    // The file it wrote is in the host's data folder of this plugin, and only there.
    expect(existsSync(join(core.home, "data/escape-probe/written"))).toBe(true);
    expect(await call("escape_probe.read", { path: "/plugin/manifest.json" })).toMatchObject({ ok: true });
  });

  test("the model key, another plugin's credential and the credentials folder are unreachable as files", async () => {
    const creds = join(core.home, "credentials");
    for (const file of ["anthropic_api_key", "other_token", "probe_token"]) {
      expect(readFileSync(join(creds, file), "utf8").length).toBeGreaterThan(0);
      expect(await call("escape_probe.read", { path: join(creds, file) })).toEqual({ ok: false, error: "ENOENT" });
    }
    expect(await call("escape_probe.read", { path: creds })).toEqual({ ok: false, error: "ENOENT" });
  });

  test("readCredential hands over only what the manifest declares; the reserved names cannot be declared", async () => {
    expect(await call("escape_probe.credential", { key: "probe_token" })).toEqual({ ok: true, length: 13 });
    expect(await call("escape_probe.credential", { key: "other_token" })).toEqual({ ok: false, error: "REFUSED" });
    expect(await call("escape_probe.credential", { key: "anthropic_api_key" })).toEqual({
      ok: false,
      error: "REFUSED",
    });
  });

  test("the audit log, the control socket and $CARAPACE_HOME itself do not exist for the plugin", async () => {
    const auditDir = join(core.home, "data/audit");
    expect(readdirSync(auditDir).length).toBeGreaterThan(0);
    expect(await call("escape_probe.read", { path: auditDir })).toEqual({ ok: false, error: "ENOENT" });
    expect(await call("escape_probe.read", { path: join(core.home, "config.toml") })).toEqual({
      ok: false,
      error: "ENOENT",
    });
    expect(await call("escape_probe.read", { path: core.home })).toEqual({ ok: false, error: "ENOENT" });
    expect(await call("escape_probe.read", { path: join(core.home, "data") })).toEqual({ ok: false, error: "ENOENT" });
    // The control socket answers the core's own CLI, but the plugin cannot even find it.
    expect((await core.carapace(["status", "--json"])).code).toBe(0);
    const control = controlSocketPath(core.home);
    expect(existsSync(control)).toBe(true);
    expect(await call("escape_probe.connect", { unix: control })).toEqual({ ok: false, error: "ENOENT" });
    // Nor another session's request socket.
    expect(existsSync(session.socket)).toBe(true);
    expect(await call("escape_probe.connect", { unix: session.socket })).toEqual({ ok: false, error: "ENOENT" });
  });

  test("no network unless declared: the undeclared probe cannot open a loopback connection, the declared one can", async () => {
    const before = tcpConnections;
    const refused = await call("escape_probe.connect", { host: "127.0.0.1", port });
    expect(refused.ok).toBe(false);
    expect(["ECONNREFUSED", "ENETUNREACH", "EHOSTUNREACH"]).toContain(String(refused.error));
    await Bun.sleep(100);
    expect(tcpConnections).toBe(before);
    // The control: the same code with "network": true in its manifest reaches the listener.
    expect(await call("net_probe.connect", { host: "127.0.0.1", port })).toEqual({ ok: true });
    for (let i = 0; i < 500 && tcpConnections === before; i++) await Bun.sleep(20);
    expect(tcpConnections).toBe(before + 1);
  });

  test.skipIf(!seccompArch())(
    "the seccomp filter refuses what a plugin never needs: unshare and ptrace through libc fail with EPERM",
    async () => {
      expect(await call("escape_probe.syscall", { name: "unshare" })).toEqual({ result: -1, errno: 1 });
      expect(await call("escape_probe.syscall", { name: "ptrace" })).toEqual({ result: -1, errno: 1 });
      // The process lives on, and an ordinary call still works under the filter.
      expect(await call("escape_probe.whoami", {})).toMatchObject({ wrote: true });
      // The program's file was removed once the process had it.
      expect(readdirSync(join(core.home, "run/plugins")).filter((f) => f.endsWith(".seccomp"))).toEqual([]);
    },
  );
});
