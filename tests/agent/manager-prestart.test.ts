/**
 * The claim of a pre-started container by the agent manager, with a runtime whose containers behave as
 * the entrypoint does (wait on stdin; run once it brings the credential, exit at once on an empty one):
 * a waiting container that cannot be claimed is ended, never left waiting, and the session runs cold.
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { API_KEY_CREDENTIAL, OAUTH_TOKEN_CREDENTIAL } from "../../src/agent/egress-credential.ts";
import { AgentManager, type TaskUpdate } from "../../src/agent/manager.ts";
import { deleteCredential, writeCredential } from "../../src/config/credentials.ts";
import { cloneDefaults } from "../../src/config/schema.ts";
import { CARAPACE_VERSION } from "../../src/config/version.ts";
import { MockRuntime } from "../../src/container/adapters/mock.ts";
import type { ChildProcess } from "../../src/container/exec.ts";
import { CLAUDE_CODE_VERSION, IMAGE_LABELS } from "../../src/container/image.ts";
import { AGENT_PATHS, LABELS } from "../../src/container/paths.ts";
import type { RunSpec } from "../../src/container/runtime.ts";
import type { AgentServices } from "../../src/core/core-services.ts";
import { inProcessCore } from "../harness/in-process.ts";

interface Child {
  spec: RunSpec;
  stdin: string;
  /** Its prompt file and CLAUDE.md as they were when its stdin closed (when the entrypoint reads them). */
  inputs?: { prompt: string; claudeMd: string };
  code: number | null;
  end(code: number): void;
}

/** Containers that read stdin to its end: with the credential they run (exit 0), without it they exit 64. */
class EntrypointRuntime extends MockRuntime {
  readonly children: Child[] = [];
  /** While set, the removal of that container waits for it: the window in which a dead one is still being removed. */
  removal: { name: string; done: Promise<void> } | null = null;
  /** While set, the next image lookup waits for it (a pre-started container's start still under way). */
  lookup: Promise<void> | null = null;
  /** Containers spawned once `stopped` was set. */
  stopped = false;
  readonly spawnedAfterStop: string[] = [];

  override async imageId(ref: string): Promise<string | null> {
    const gate = this.lookup;
    this.lookup = null;
    if (gate) await gate;
    return await super.imageId(ref);
  }

  override spawn(spec: RunSpec): ChildProcess {
    if (this.stopped) this.spawnedAfterStop.push(spec.name);
    const done = Promise.withResolvers<number>();
    const child: Child = {
      spec,
      stdin: "",
      code: null,
      end: (code) => {
        if (child.code !== null) return;
        child.code = code;
        done.resolve(code);
      },
    };
    this.children.push(child);
    let open = true;
    return {
      pid: undefined,
      write: (data) => {
        if (open) child.stdin += typeof data === "string" ? data : new TextDecoder().decode(data);
      },
      closeStdin: () => {
        if (!open) return;
        open = false;
        const read = (target: string) => {
          const source = spec.mounts.find((m) => m.target === target)?.source ?? "";
          return existsSync(source) ? readFileSync(source, "utf8") : "";
        };
        child.inputs = { prompt: read(AGENT_PATHS.prompt), claudeMd: read(AGENT_PATHS.claudeMd) };
        setTimeout(() => child.end(child.stdin ? 0 : 64), 0);
      },
      onStdout: () => {},
      onStderr: () => {},
      exited: done.promise,
      kill: () => child.end(137),
    };
  }

  private named(name: string): Child | undefined {
    return this.children.find((c) => c.spec.name === name);
  }

  override async stop(name: string): Promise<void> {
    this.named(name)?.end(143);
  }

  override async kill(name: string): Promise<void> {
    this.named(name)?.end(137);
  }

  override async remove(name: string): Promise<void> {
    this.named(name)?.end(137);
    if (this.removal?.name === name) await this.removal.done;
  }
}

async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    if (condition()) return;
    await Bun.sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface ManagerOptions {
  configure?: (config: ReturnType<typeof cloneDefaults>) => void;
  /** What the manager is given of the core, in place of the core's own services. */
  services?: (services: AgentServices, home: string) => AgentServices;
}

/** A core and a manager that pre-starts containers on a runtime that behaves as the entrypoint does. */
async function prestartManager(options: ManagerOptions = {}) {
  const core = await inProcessCore();
  const config = cloneDefaults();
  config.runtime.prestart = true;
  options.configure?.(config);
  const services = options.services ?? ((s) => s);
  const labels = { [IMAGE_LABELS.version]: CARAPACE_VERSION, [IMAGE_LABELS.claudeCode]: CLAUDE_CODE_VERSION };
  const runtime = new EntrypointRuntime({ images: { [config.runtime.image]: labels } });
  const manager = new AgentManager(core.home, services(core.server.forAgents(), core.home), config, async () => ({
    runtime,
    info: await runtime.info(),
  }));
  return { core, runtime, manager };
}

/** Runs `body`, then stops the manager and closes the core whatever it did. */
async function closingAfter<T extends { core: { close(): Promise<void> }; manager: AgentManager }>(
  setup: T,
  body: (setup: T) => Promise<void>,
): Promise<void> {
  try {
    await body(setup);
  } finally {
    await setup.manager.stop();
    await setup.core.close();
  }
}

async function prestartSetup(options: ManagerOptions = {}) {
  const { core, runtime, manager } = await prestartManager(options);
  writeCredential(core.home, API_KEY_CREDENTIAL, "a stored key that never leaves the host");
  const start = (prompt: string) => {
    const updates: TaskUpdate[] = [];
    manager.trigger("default", prompt, (u) => updates.push(u));
    return async () => {
      await until(`task "${prompt}" to finish`, () => updates.some((u) => u.kind === "done"));
      return updates.find((u) => u.kind === "done");
    };
  };
  const run = async (prompt: string) => await start(prompt)();
  // A first (cold) session makes the group active: a container is pre-started for its next one.
  expect(await run("first")).toMatchObject({ ok: true });
  await until("a ready pre-started container", () => manager.warmContainers().some((w) => w.state === "ready"));
  const warm = runtime.children[1] as Child;
  expect(warm.stdin).toBe("");
  const opened = () =>
    core
      .audit("default")
      .filter((a) => a.kind === "session" && (a.detail as { event?: string }).event === "opened")
      .map((a) => (a.detail as { prestarted?: boolean }).prestarted === true);
  /** Whether each session ran pre-started, once both have their opened record (audit records reach the file on their own schedule). */
  const bothOpened = async () => {
    await until("both sessions' opened records", () => opened().length >= 2);
    return opened();
  };
  return { core, manager, runtime, warm, run, start, bothOpened };
}

test("the claim hands the waiting container one stream-json message holding CLAUDE.md and the prompt", async () => {
  await closingAfter(await prestartSetup(), async ({ warm, run, bothOpened }) => {
    expect(await run("second prompt")).toMatchObject({ ok: true });
    expect(await bothOpened()).toEqual([false, true]);
    expect(warm.stdin.startsWith("ANTHROPIC_API_KEY\n")).toBe(true);
    // Its Claude Code read CLAUDE.md (empty) as it started: what it must know is in the message.
    expect(warm.inputs?.claudeMd).toBe("");
    const lines = warm.inputs?.prompt.split("\n") ?? [];
    expect(lines).toHaveLength(2);
    const message = JSON.parse(lines[0] ?? "") as { type: string; message: { content: { text: string }[] } };
    expect(message.type).toBe("user");
    expect(message.message.content[0]?.text).toContain("# Carapace session (group: default)");
    expect(message.message.content.at(-1)?.text).toBe("second prompt");
  });
}, 60_000);

test("with an OAuth credential the waiting container is ended unclaimed and the session runs cold", async () => {
  await closingAfter(await prestartSetup(), async ({ core, runtime, warm, run, bothOpened }) => {
    deleteCredential(core.home, API_KEY_CREDENTIAL);
    writeCredential(core.home, OAUTH_TOKEN_CREDENTIAL, "an oauth token that never leaves the host");
    expect(await run("second")).toMatchObject({ ok: true });
    expect(await bothOpened()).toEqual([false, false]);
    await until("the refused container to end", () => warm.code !== null);
    expect(warm.stdin).toBe("");
    expect(runtime.children[2]?.stdin.startsWith("CLAUDE_CODE_OAUTH_TOKEN\n")).toBe(true);
  });
}, 60_000);

test("the claim hands over the credential it was admitted with, though another is stored meanwhile", async () => {
  let swap = false;
  // The session's brief is asked for after the claim: an OAuth token stored then must not reach the claimed container.
  const services = (s: AgentServices, home: string): AgentServices => ({
    ...s,
    briefing: {
      ...s.briefing,
      brief: async (group, budgetMs) => {
        if (swap) {
          deleteCredential(home, API_KEY_CREDENTIAL);
          writeCredential(home, OAUTH_TOKEN_CREDENTIAL, "an oauth token that never leaves the host");
        }
        return await s.briefing.brief(group, budgetMs);
      },
    },
  });
  await closingAfter(await prestartSetup({ services }), async ({ warm, run, bothOpened }) => {
    swap = true;
    expect(await run("second")).toMatchObject({ ok: true });
    expect(await bothOpened()).toEqual([false, true]);
    expect(warm.stdin.startsWith("ANTHROPIC_API_KEY\n")).toBe(true);
  });
}, 60_000);

test("a waiting container whose files are gone is ended, not left waiting, and the session runs cold", async () => {
  await closingAfter(await prestartSetup(), async ({ core, runtime, warm, run, bothOpened }) => {
    // A careless clean-up of run/agents while the container waits.
    rmSync(join(core.home, "run", "agents", String(warm.spec.labels[LABELS.session]), "prompt.md"));
    expect(await run("second")).toMatchObject({ ok: true });
    expect(await bothOpened()).toEqual([false, false]);
    // Ended by closing its stdin with nothing written: no credential ever reached it.
    await until("the refused container to end", () => warm.code !== null);
    expect(warm.code).toBe(64);
    expect(warm.stdin).toBe("");
    // The session's own (cold) container got it instead.
    expect(runtime.children[2]?.stdin.startsWith("ANTHROPIC_API_KEY\n")).toBe(true);
  });
}, 60_000);

test("a waiting container that died is not claimed while its removal is under way; the session runs cold", async () => {
  await closingAfter(await prestartSetup(), async ({ runtime, warm, run, bothOpened }) => {
    const removal = Promise.withResolvers<void>();
    runtime.removal = { name: warm.spec.name, done: removal.promise };
    try {
      warm.end(137);
      const done = await run("second").catch((e: Error) => ({ ok: false, error: e.message }));
      removal.resolve();
      expect(done).toMatchObject({ ok: true });
      expect(await bothOpened()).toEqual([false, false]);
      expect(warm.stdin).toBe("");
    } finally {
      removal.resolve();
      runtime.removal = null;
    }
  });
}, 60_000);

test("a session still being set up when the core stops starts no container, cold or pre-started", async () => {
  await closingAfter(await prestartSetup(), async ({ manager, runtime, start }) => {
    // The session is held at its image lookup while the core stops (which ends the waiting container).
    const lookup = Promise.withResolvers<void>();
    runtime.lookup = lookup.promise;
    const second = start("second");
    await manager.stop();
    expect(manager.warmContainers()).toEqual([]);
    runtime.stopped = true;
    lookup.resolve();
    expect(await second()).toMatchObject({ ok: false, error: expect.stringContaining("the core stopped") });
    expect(runtime.spawnedAfterStop).toEqual([]);
    expect(runtime.children.filter((c) => c.code === null).map((c) => c.spec.name)).toEqual([]);
  });
}, 60_000);

test("a pre-started container whose start is in flight when the core stops is never spawned", async () => {
  const setup = await prestartManager({
    configure: (config) => {
      config.groups.team = {};
    },
  });
  await closingAfter(setup, async ({ manager, runtime }) => {
    const lookup = Promise.withResolvers<void>();
    runtime.lookup = lookup.promise;
    manager.prestartConfiguredGroups();
    await until("the start to reach its image lookup", () => runtime.lookup === null);
    expect(manager.warmContainers()).toMatchObject([{ group: "team", state: "starting" }]);
    const stopping = manager.stop();
    runtime.stopped = true;
    lookup.resolve();
    await stopping;
    expect(runtime.spawnedAfterStop).toEqual([]);
    expect(runtime.children).toEqual([]);
  });
}, 60_000);
