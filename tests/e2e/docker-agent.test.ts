/**
 * A whole agent session on Docker through the compiled core: `[runtime] engine = "docker"`, the test run's
 * own dockerd (tests/container/docker-env.ts, reached through DOCKER_HOST), the agent image copied from
 * Podman, the real Claude Code in the locked container calling a tool over `ipc`, and nothing left behind.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { instanceId } from "../../src/container/lockdown.ts";
import { dockerClient, dockerEngine, loadImageFromPodman, reportDockerSkip } from "../container/docker-env.ts";
import { agentHome, agentImage, agentSkipReason, homeContainers, REAL_KEY } from "../harness/agent-env.ts";
import { startCore } from "../harness/core.ts";

const docker = await dockerEngine();
const skipReason = agentSkipReason ?? docker.skipReason ?? loadImageFromPodman(docker, agentImage.tag);
reportDockerSkip("agent end-to-end on Docker", skipReason);

const dockerEnv = (): Record<string, string> => ({
  DOCKER_HOST: docker.env.DOCKER_HOST ?? "",
  DOCKER_CONFIG: docker.env.DOCKER_CONFIG ?? "",
});

describe.skipIf(skipReason !== null)("agent sessions end to end on Docker (real dockerd, real Claude Code)", () => {
  test("prompt → Claude Code in the locked Docker container → ipc tool call → answer; cleaned up after", async () => {
    const { home, model } = await agentHome(
      [
        { tool_use: { name: "Bash", input: { command: `ipc hello.echo '{"message":"from docker"}'` } } },
        { text: "The echo tool answered: from docker" },
      ],
      'engine = "docker"\n',
    );
    const since = Math.floor(Date.now() / 1000) - 1;
    const core = await startCore({ home, env: dockerEnv() });
    try {
      const r = await core.carapace(["prompt", "Use the echo tool", "--group", "demo"]);
      expect(r.stderr).not.toContain("Error");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("The echo tool answered: from docker");
      for (const req of model.requests) expect(req.headers["x-api-key"]).toBe(REAL_KEY);
      expect(JSON.stringify(model.requests.at(-1)?.body)).toContain("from docker");
      const audit = core.audit("demo");
      expect(audit.some((a) => a.kind === "routed" && a.topic === "tool.invoke.hello.echo")).toBe(true);
      expect(JSON.stringify(audit)).not.toContain(REAL_KEY);
    } finally {
      await core.stop();
      await model.close();
    }
    // The session's container ran on the test dockerd, labelled with this home's instance.
    const started = Bun.spawnSync(
      [
        dockerClient(),
        "events",
        "--since",
        String(since),
        "--until",
        String(Math.ceil(Date.now() / 1000)),
        "--filter",
        "event=start",
        "--filter",
        `label=io.carapace.instance=${instanceId(home)}`,
        "--format",
        "{{.Actor.Attributes.name}}",
      ],
      { env: docker.env },
    );
    expect(started.stdout.toString().trim().split("\n")).toEqual([expect.stringMatching(/^carapace-/)]);
    expect(homeContainers(home, { client: dockerClient(), env: docker.env })).toEqual([]);
    expect(existsSync(join(home, "run/agents")) ? readdirSync(join(home, "run/agents")) : []).toEqual([]);
  }, 120_000);
});
