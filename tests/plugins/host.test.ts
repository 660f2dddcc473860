import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ToolError } from "@carapace/sdk";
import type { PluginStatus } from "../../src/plugins/status.ts";
import { DEFAULT_LIMITS } from "../../src/protocol/limits.ts";
import { installMalicious, installPlugin } from "../fixtures/plugins/install.ts";
import { MALICIOUS_VECTORS } from "../fixtures/plugins/malicious.ts";
import { contextFor, type HostHarness, hostHarness, removeHomes, tempHome } from "./helpers.ts";

const running: HostHarness[] = [];
function harness(...args: Parameters<typeof hostHarness>): HostHarness {
  const h = hostHarness(...args);
  running.push(h);
  return h;
}

afterEach(async () => {
  for (const h of running.splice(0)) {
    await h.host.shutdown();
    await h.audit.close();
  }
});
afterAll(removeHomes);

function statusOf(h: HostHarness, name: string): PluginStatus {
  const s = h.host.statuses().find((p) => p.name === name && p.state !== "overridden");
  if (!s) throw new Error(`no status for ${name}: ${JSON.stringify(h.host.statuses())}`);
  return s;
}

const isRoot = process.getuid?.() === 0;

describe("loading plugins next to broken ones", () => {
  test("every malicious vector is refused with its category and message; the good plugins load; no refused code ran", async () => {
    const home = tempHome();
    installPlugin(home, "tool-error");
    installPlugin(home, "leak-secret");
    const vectors = MALICIOUS_VECTORS.filter((v) => isRoot || !v.requiresRoot);
    for (const v of vectors) installMalicious(home, v);
    const h = harness(home);
    await h.host.load();

    for (const v of vectors) {
      const s = statusOf(h, v.name);
      expect({ name: v.name, state: s.state, category: s.category }).toEqual({
        name: v.name,
        state: "failed",
        category: v.category as PluginStatus["category"],
      });
      expect(s.reason).toContain(v.includes);
      // Messages name folders relative to the home, never the host's absolute paths.
      expect(s.reason).not.toContain(home);
    }
    expect(statusOf(h, "tool-error").state).toBe("healthy");
    expect(statusOf(h, "leak-secret").state).toBe("healthy");
    expect(statusOf(h, "memory")).toMatchObject({ state: "healthy", source: "builtin" });
    // Only the two import vectors get as far as importing; neither has a marker. Nothing else ran.
    expect(readdirSync(home).filter((f) => f.startsWith("PWNED"))).toEqual([]);
    // Refused plugins contribute no tools; good ones do.
    const names = h.catalog.list().map((t) => t.name);
    expect(names).toContain("tool_error.run");
    expect(names).toContain("memory_store");
    expect(names.filter((n) => n.startsWith("open_") || n.startsWith("ref_") || n === "dup.x")).toEqual([]);
    // Every failure is written to the core's audit log with its category.
    await h.audit.flush();
    const failures = await h.audit.query("_core", { limit: 1000 });
    const failed = failures.filter((r) => (r.detail as { event?: string })?.event === "plugin failed");
    expect(failed.length).toBe(vectors.length);
  });

  test("a plugin whose initialize() throws is failed (init_failed) with its error kept for the operator only", async () => {
    const home = tempHome();
    installPlugin(home, "init-fails");
    installPlugin(home, "tool-error");
    const h = harness(home, { settings: { builtins: false } });
    await h.host.load();
    const s = statusOf(h, "init-fails");
    expect(s).toMatchObject({ state: "failed", category: "init_failed", reason: "initialize() threw an error" });
    expect(s.detail).toContain("cannot reach the upstream service");
    expect(h.catalog.get("init_fails.run")?.available()).toBe(false);
    expect(statusOf(h, "tool-error").state).toBe("healthy");
    expect(h.logs.join("\n")).toContain('plugin "init-fails" (user) was not loaded: init_failed');
  });

  test("a plugin whose initialize() never finishes is failed (init_timeout) after the configured limit", async () => {
    const home = tempHome();
    installPlugin(home, "init-hangs");
    installPlugin(home, "tool-error");
    const h = harness(home, { settings: { builtins: false }, limits: { pluginInitTimeoutMs: 200 } });
    const t0 = performance.now();
    await h.host.load();
    // Sooner than the default limit could have fired: the configured 200 ms ended the wait, however slow
    // the machine is at loading the other plugin.
    expect(performance.now() - t0).toBeLessThan(DEFAULT_LIMITS.pluginInitTimeoutMs);
    expect(statusOf(h, "init-hangs")).toMatchObject({ state: "failed", category: "init_timeout" });
    expect(statusOf(h, "init-hangs").reason).toContain("200 ms");
    expect(statusOf(h, "tool-error").state).toBe("healthy");
  });
});

describe("sources and overrides", () => {
  test("a user plugin replaces a built-in of the same name and is tagged with its source", async () => {
    const home = tempHome();
    installPlugin(home, "tool-error", { as: "memory" });
    const h = harness(home);
    await h.host.load();
    const statuses = h.host.statuses().filter((s) => s.name === "memory");
    expect(statuses.map((s) => [s.source, s.state])).toEqual([
      ["user", "healthy"],
      ["builtin", "overridden"],
    ]);
    expect(statuses[0]?.overrides).toBe("builtin");
    expect(h.catalog.get("memory_store")).toBeUndefined();
    expect(h.catalog.get("tool_error.run")?.plugin).toBe("memory");
  });

  test("lib/plugins and [plugins] dirs are sources too; disabled plugins are skipped", async () => {
    const home = tempHome();
    installPlugin(home, "tool-error", { into: "lib/plugins" });
    const extra = join(home, "extra");
    installPlugin(home, "leak-secret");
    installPlugin(home, "high-risk", { into: "lib/plugins" });
    cpSync(join(home, "lib/plugins/high-risk"), join(extra, "high-risk"), { recursive: true });
    const h = harness(home, { settings: { builtins: false, dirs: [extra], disabled: ["leak-secret"] } });
    await h.host.load();
    expect(statusOf(h, "tool-error")).toMatchObject({ source: "lib", state: "healthy" });
    expect(statusOf(h, "high-risk")).toMatchObject({ source: "dir", state: "healthy", overrides: "lib" });
    expect(statusOf(h, "leak-secret")).toMatchObject({ source: "user", state: "disabled" });
    expect(h.catalog.get("leak_secret.run")).toBeUndefined();
  });
});

describe("tools, events and shutdown", () => {
  test("a plugin's ToolError is the core's own class (the SDK seam), and tools follow the manifest", async () => {
    const home = tempHome();
    installPlugin(home, "tool-error");
    installPlugin(home, "high-risk");
    const h = harness(home, { settings: { builtins: false } });
    await h.host.load();
    const tool = h.catalog.get("tool_error.run");
    expect(tool).toMatchObject({ risk_level: "low", allowed_groups: ["*"], plugin: "tool-error" });
    expect(h.catalog.get("high_risk.run")?.risk_level).toBe("high");
    let thrown: unknown;
    try {
      await tool?.invoke({}, contextFor("g"));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ToolError);
    expect(thrown).toMatchObject({ code: "MY_CODE", message: "my message" });
  });

  test("plugin.ready is published per plugin; subscribed events reach handleEvent scoped to the event's group", async () => {
    const home = tempHome();
    installPlugin(home, "services-probe");
    installPlugin(home, "event-sink");
    const h = harness(home, { settings: { builtins: false } });
    await h.host.load();
    const ready = h.published
      .filter((e) => e.topic === "plugin.ready")
      .map((e) => (e.payload as { plugin: string }).plugin);
    expect(ready.sort()).toEqual(["event-sink", "services-probe"]);

    await h.catalog.get("services_probe.publish")?.invoke({ text: "hi" }, contextFor("team"));
    const seen = (await h.catalog.get("event_sink.seen")?.invoke({}, contextFor("other"))) as {
      events: { topic: string; group: string; payload: unknown; scopedGroup: string | null }[];
    };
    expect(seen.events).toEqual([
      { topic: "message.inbound", group: "team", payload: { text: "hi" }, scopedGroup: "team" },
    ]);
    // A plugin without a channel may not publish.
    await expect(
      Promise.resolve(h.catalog.get("event_sink.try_publish")?.invoke({}, contextFor("team"))),
    ).rejects.toMatchObject({
      code: "NOT_A_CHANNEL",
    });
  });

  test("shutdown makes tools unavailable at once, publishes plugin.stopping and calls shutdown()", async () => {
    const home = tempHome();
    installPlugin(home, "tool-error");
    const h = harness(home);
    await h.host.load();
    const memory = h.catalog.get("memory_store");
    expect(memory?.available()).toBe(true);
    await h.host.shutdown();
    expect(memory?.available()).toBe(false);
    expect(h.catalog.get("tool_error.run")?.available()).toBe(false);
    const stopping = h.published
      .filter((e) => e.topic === "plugin.stopping")
      .map((e) => (e.payload as { plugin: string }).plugin);
    expect(stopping.sort()).toEqual(["memory", "tool-error"]);
    expect(h.host.statuses().find((s) => s.name === "memory")?.state).toBe("stopped");
    expect(existsSync(join(home, "data/memory"))).toBe(true);
  });
  test("a plugin process that ends inside shutdown() without answering still lets shutdown finish", async () => {
    const home = tempHome();
    installPlugin(home, "exits-on-shutdown");
    const h = harness(home, { settings: { builtins: false }, limits: { pluginShutdownTimeoutMs: 2_000 } });
    await h.host.load();
    expect(await h.catalog.get("exits_on_shutdown.run")?.invoke({}, contextFor("team"))).toEqual({ ok: true });
    // Its exit is seen and its answer never comes: shutdown must settle on the exit, not wait forever.
    const outcome = await Promise.race([
      h.host.shutdown().then(() => "finished"),
      Bun.sleep(30_000).then(() => "still waiting"),
    ]);
    expect(outcome).toBe("finished");
    expect(h.host.statuses().find((s) => s.name === "exits-on-shutdown")?.state).toBe("stopped");
    // It ended by itself: not reported as a shutdown that had to be killed.
    expect(h.logs.filter((l) => l.includes("did not finish"))).toEqual([]);
  }, 60_000);
});

describe("group scoping across the process boundary", () => {
  test("an event published inside a call carries the caller's group, session and correlation; naming another group is refused", async () => {
    const home = tempHome();
    installPlugin(home, "services-probe");
    const h = harness(home, { settings: { builtins: false } });
    await h.host.load();
    const context = contextFor("team", "sess-team");
    await h.catalog.get("services_probe.publish")?.invoke({ text: "hi" }, context);
    const event = h.published.find((e) => e.topic === "message.inbound");
    expect(event).toMatchObject({ group: "team", session: "sess-team", correlation: context.correlation });
    const before = h.published.length;
    await expect(
      Promise.resolve(
        h.catalog.get("services_probe.publish")?.invoke({ text: "x", group: "other" }, contextFor("team")),
      ),
    ).rejects.toMatchObject({ code: "PUBLISH_REFUSED", message: expect.stringContaining("another group") });
    expect(h.published.length).toBe(before);
  });

  test("allowed_groups gates event delivery as well as tools", async () => {
    const home = tempHome();
    installPlugin(home, "services-probe");
    const sink = installPlugin(home, "event-sink");
    const manifestPath = join(sink, "manifest.json");
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
    manifest.allowed_groups = ["team"];
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const h = harness(home, { settings: { builtins: false } });
    await h.host.load();
    await h.catalog.get("services_probe.publish")?.invoke({ text: "for team" }, contextFor("team"));
    await h.catalog.get("services_probe.publish")?.invoke({ text: "for outsiders" }, contextFor("outsiders"));
    const seen = (await h.catalog.get("event_sink.seen")?.invoke({}, contextFor("team"))) as {
      events: { group: string; payload: { text: string } }[];
    };
    expect(seen.events.map((e) => [e.group, e.payload.text])).toEqual([["team", "for team"]]);
  });
});

describe("the session brief through the plugin hook", () => {
  test("the memory plugin's sessionBrief answers for the group; a disabled memory plugin writes none", async () => {
    const home = tempHome();
    const h = harness(home);
    await h.host.load();
    await h.catalog.get("memory_store")?.invoke({ type: "fact", content: "the cat is called Mia" }, contextFor("fam"));
    expect(await h.host.briefFor("fam", 5000)).toContain("the cat is called Mia");
    expect(await h.host.briefFor("strangers", 5000)).toBeNull();
    await h.host.shutdown();

    const off = harness(home, { settings: { disabled: ["memory"] } });
    await off.host.load();
    expect(off.catalog.get("memory_store")).toBeUndefined();
    expect(await off.host.briefFor("fam", 5000)).toBeNull();
  });
});
