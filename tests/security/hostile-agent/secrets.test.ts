/**
 * The real API key never enters the container: the credential store is not mounted (its host path
 * does not exist inside, and no mount comes from anywhere but the session's own directories), every
 * process of the container holds only the per-session egress token, and that token is refused by the
 * proxy of any other session.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { AGENT_PATHS } from "../../../src/container/paths.ts";
import { containerOfSessionDir, containerProcessEnvs, inspectEnv, parseMountinfo } from "./container-inspect.ts";
import { HOSTILE_TIMEOUT_MS, type HostileLab, hostileSkipReason, REAL_KEY, startHostileLab, step } from "./harness.ts";
import { diffTrees, hostEntry, snapshotTree } from "./host-inspect.ts";

const TOKEN_NAMES = ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"];

/** The one running session's directory and container (each test runs one session at a time). */
function liveSession(lab: HostileLab): { dir: string; container: string } {
  const dirs = lab.liveSessionDirs().filter((d) => hostEntry(join(d, "egress.sock"))?.type === "socket");
  if (dirs.length !== 1) throw new Error(`expected one running session, found ${JSON.stringify(dirs)}`);
  const dir = dirs[0] as string;
  return { dir, container: containerOfSessionDir(dir) };
}

/**
 * POSTs with `token` to an egress proxy socket, on a path the proxy never forwards (so the host-side
 * probe never waits for the scripted model): a wrong token gets 401, the right one the route refusal.
 */
function presentToken(socket: string, token: string): number {
  const r = Bun.spawnSync(
    [
      "curl",
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "--unix-socket",
      socket,
      "-H",
      `x-api-key: ${token}`,
      "-H",
      "content-type: application/json",
      "--max-time",
      "20",
      "--data",
      "{}",
      "http://egress/v1/not-a-route",
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  return Number.parseInt(r.stdout.toString(), 10);
}

describe.skipIf(hostileSkipReason !== null)("hostile agent: the real key stays on the host", () => {
  let lab: HostileLab;
  beforeAll(async () => {
    lab = await startHostileLab();
  });
  afterAll(async () => {
    await lab?.stop();
  });

  test(
    "the credential store is not in the container: its host path does not exist inside, no mount comes from it, and it is unchanged",
    async () => {
      const before = snapshotTree(lab.credentialsDir);
      const stored = join(lab.credentialsDir, "anthropic_api_key");
      const run = await lab.session("creds", [
        step.read(stored),
        step.read(join(lab.home, "config.toml")),
        step.read("/proc/self/mountinfo"),
      ]);
      expect(run.code).toBe(0);
      expect(run.exchange(0)).toMatchObject({ name: "Read", isError: true });
      expect(run.exchange(0).result).toContain("File does not exist");
      expect(run.exchange(1)).toMatchObject({ name: "Read", isError: true });
      const mounts = parseMountinfo(run.exchange(2).result);
      const hostMounts = mounts.filter((m) => m.root.startsWith(lab.home));
      // Exactly the session's own paths: its socket directory, prompt, CLAUDE.md, skills, and the group's two trees.
      expect(hostMounts.map((m) => m.target).sort()).toEqual(
        [
          AGENT_PATHS.prompt,
          AGENT_PATHS.claudeState,
          AGENT_PATHS.claudeMd,
          AGENT_PATHS.skills,
          AGENT_PATHS.sessionDir,
          AGENT_PATHS.workspace,
        ].sort(),
      );
      for (const m of hostMounts) expect(m.root).not.toStartWith(lab.credentialsDir);
      expect(hostMounts.find((m) => m.target === "/workspace")?.root).toBe(lab.workspace("creds"));
      expect(diffTrees(before, snapshotTree(lab.credentialsDir))).toEqual([]);
      expect(run.transcript.everything).not.toContain(REAL_KEY);
    },
    HOSTILE_TIMEOUT_MS,
  );

  test(
    "every process in the container holds only the per-session token, never the real key, and inspect shows neither",
    async () => {
      let envs: Record<string, string>[] = [];
      let inspected: string[] = [];
      const run = await lab.session("envs", [
        step.onHost(({ lab }) => {
          const { container } = liveSession(lab);
          envs = containerProcessEnvs(container);
          inspected = inspectEnv(container);
        }),
        step.bash(`ipc hello.echo '{"message":"x"}'; cat /proc/self/environ`),
        step.read("/proc/1/environ"),
      ]);
      expect(run.code).toBe(0);
      expect(envs.length).toBeGreaterThan(0);
      const claude = envs.find((e) => TOKEN_NAMES.some((n) => n in e));
      const name = TOKEN_NAMES.find((n) => claude && n in claude) as string;
      const token = claude?.[name] ?? "";
      expect(token).toMatch(/^[0-9a-f]{48}$/);
      for (const env of envs) expect(JSON.stringify(env)).not.toContain(REAL_KEY);
      expect(inspected.some((kv) => /KEY|TOKEN|SECRET/.test(kv.slice(0, kv.indexOf("="))))).toBe(false);
      expect(inspected.join("\n")).not.toContain(token);
      // The agent's own attempts: refused, or what they exposed is the session token and nothing more.
      const chained = run.exchange(0);
      if (!chained.isError) expect(chained.result).toContain(`${name}=${token}`);
      expect(run.exchange(1).isError).toBe(true);
      expect(run.transcript.everything).not.toContain(REAL_KEY);
    },
    HOSTILE_TIMEOUT_MS,
  );

  test(
    "a session's egress token is refused by the next session's proxy, and its socket is gone after it ends",
    async () => {
      let first = { token: "", socket: "", ownStatus: 0 };
      await lab.session("tokens", [
        step.onHost(({ lab }) => {
          const { dir, container } = liveSession(lab);
          const env = containerProcessEnvs(container).find((e) => "ANTHROPIC_API_KEY" in e) ?? {};
          const socket = join(dir, "egress.sock");
          first = {
            token: env.ANTHROPIC_API_KEY ?? "",
            socket,
            ownStatus: presentToken(socket, env.ANTHROPIC_API_KEY ?? ""),
          };
        }),
      ]);
      expect(first.token).toMatch(/^[0-9a-f]{48}$/);
      // Positive control: its own session's proxy accepts the token, then refuses the route.
      expect(first.ownStatus).toBe(404);
      expect(hostEntry(first.socket)).toBeNull();
      let replayed = 0;
      let secondSocket = "";
      await lab.session("tokens", [
        step.onHost(({ lab }) => {
          secondSocket = join(liveSession(lab).dir, "egress.sock");
          replayed = presentToken(secondSocket, first.token);
        }),
      ]);
      expect(secondSocket).not.toBe(first.socket);
      expect(replayed).toBe(401);
      const refused = lab.audit("tokens").filter((a) => a.kind === "egress" && a.outcome === "rejected");
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(lab.audit("tokens"))).not.toContain(first.token);
    },
    HOSTILE_TIMEOUT_MS,
  );
});
