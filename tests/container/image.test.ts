import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MockRuntime } from "../../src/container/adapters/mock.ts";
import {
  type AgentImageInputs,
  assembleContext,
  claudeCodePackage,
  ensureAgentImage,
  IMAGE_LABELS,
  imageState,
  recipeDigest,
} from "../../src/container/image.ts";
import { managedSettingsJson } from "../../src/container/managed-settings.ts";

const dir = mkdtempSync(join(tmpdir(), "img-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
for (const f of ["ipc", "libzmq.so", "claude"]) writeFileSync(join(dir, f), `${f} bytes`);

const inputs: AgentImageInputs = {
  tag: "localhost/carapace-agent:1.0.0",
  baseImage: "localhost/carapace-base:bookworm",
  carapaceVersion: "1.0.0",
  revision: "abc123",
  claudeCodeVersion: "2.1.331",
  ipcPath: join(dir, "ipc"),
  libzmqPath: join(dir, "libzmq.so"),
  claudePath: join(dir, "claude"),
  created: "2026-11-24T00:00:00Z",
};

const current = {
  [IMAGE_LABELS.version]: "1.0.0",
  [IMAGE_LABELS.revision]: "abc123",
  [IMAGE_LABELS.claudeCode]: "2.1.331",
  [IMAGE_LABELS.recipe]: recipeDigest(),
};

describe("agent image", () => {
  test("the build context holds the Containerfile, entrypoint, ipc front script, key helper, generated settings and the three binaries", () => {
    const ctx = join(dir, "ctx");
    assembleContext(inputs, ctx);
    expect(readdirSync(ctx).sort()).toEqual([
      "Containerfile",
      "api-key-helper.sh",
      "claude",
      "entrypoint.sh",
      "ipc",
      "ipc-front.sh",
      "libzmq.so",
      "managed-settings.json",
    ]);
    expect(readFileSync(join(ctx, "managed-settings.json"), "utf8")).toBe(managedSettingsJson());
    expect(readFileSync(join(ctx, "Containerfile"), "utf8")).toContain("ARG BASE_IMAGE");
  });

  test("a missing ipc binary is an actionable error", () => {
    expect(() => assembleContext({ ...inputs, ipcPath: join(dir, "none") }, join(dir, "ctx2"))).toThrow(
      /ipc binary not found.*Fix: run install.sh again/,
    );
  });

  test("staleness compares the version labels", async () => {
    const rt = new MockRuntime({
      images: { [inputs.tag]: current, old: { ...current, [IMAGE_LABELS.claudeCode]: "2.0.0" } },
    });
    expect(await imageState(rt, inputs.tag, { carapaceVersion: "1.0.0", claudeCodeVersion: "2.1.331" })).toEqual({
      state: "current",
    });
    expect(await imageState(rt, "missing", { carapaceVersion: "1.0.0", claudeCodeVersion: "2.1.331" })).toEqual({
      state: "missing",
    });
    const stale = await imageState(rt, "old", { carapaceVersion: "1.0.0", claudeCodeVersion: "2.1.331" });
    expect(stale).toEqual({ state: "stale", reasons: ["Claude Code version is 2.0.0, expected 2.1.331"] });
  });

  test("start-up check: current is kept, missing is built with labels, SKIP_IMAGE_BUILD keeps a stale one", async () => {
    const rt = new MockRuntime({ images: { [inputs.tag]: current } });
    expect(await ensureAgentImage(rt, inputs, { skipBuild: false })).toBe("current");
    const empty = new MockRuntime();
    const lines: string[] = [];
    expect(await ensureAgentImage(empty, inputs, { skipBuild: false, onLine: (l) => lines.push(l) })).toBe("built");
    expect(empty.images.get(inputs.tag)).toMatchObject({ ...current, [IMAGE_LABELS.created]: "2026-11-24T00:00:00Z" });
    expect(lines[0]).toContain("[IMAGE] building localhost/carapace-agent:1.0.0");
    const stale = new MockRuntime({ images: { [inputs.tag]: { ...current, [IMAGE_LABELS.version]: "0.9.0" } } });
    expect(await ensureAgentImage(stale, inputs, { skipBuild: true })).toBe("skipped");
    await expect(ensureAgentImage(new MockRuntime(), inputs, { skipBuild: true })).rejects.toThrow(
      /SKIP_IMAGE_BUILD=1 forbids/,
    );
  });

  test("a change of the managed settings makes the image stale", async () => {
    const rt = new MockRuntime({ images: { [inputs.tag]: current } });
    const other = recipeDigest({ allowReadOnlyTools: false });
    expect(other).not.toBe(recipeDigest());
    const state = await imageState(rt, inputs.tag, {
      carapaceVersion: "1.0.0",
      claudeCodeVersion: "2.1.331",
      recipe: other,
    });
    expect(state.state).toBe("stale");
  });

  test("picks the native Claude Code package per architecture", () => {
    expect(claudeCodePackage("x64")).toBe("@anthropic-ai/claude-code-linux-x64");
    expect(claudeCodePackage("arm64")).toBe("@anthropic-ai/claude-code-linux-arm64");
    expect(() => claudeCodePackage("ia32")).toThrow(/no Claude Code build/);
  });
});
