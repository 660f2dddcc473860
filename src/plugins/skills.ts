import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import memorySkill from "../../plugins/memory/skills/memory.md" with { type: "text" };
import telegramSkill from "../../plugins/telegram/skills/telegram.md" with { type: "text" };
import type { Catalog, ToolEntry } from "./catalog.ts";
import { mcpSkill, mcpSkillName } from "./mcp/skill.ts";
import type { PluginStatus } from "./status.ts";

const MAX_SKILL_BYTES = 64 * 1024;
const SKILL_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Skills of plugins embedded in the binary (they have no folder on disk). */
const EMBEDDED_SKILLS: Record<string, Record<string, string>> = {
  memory: { memory: memorySkill },
  telegram: { telegram: telegramSkill },
};

function skillName(plugin: string, file: string): string {
  const stem = basename(file, ".md")
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-");
  // The stem has lost its underscores already: compare with the plugin name in the same form.
  const name = stem === plugin.replace(/_/g, "-") ? plugin : `${plugin}-${stem}`;
  return name.replace(/_/g, "-").slice(0, 63);
}

/** Skill files of one loaded plugin: `<dir>/skills/*.md`, regular files only, size-capped. */
function pluginSkillFiles(status: PluginStatus): Record<string, string> {
  if (status.dir === null) return EMBEDDED_SKILLS[status.name] ?? {};
  const dir = join(status.dir, "skills");
  const out: Record<string, string> = {};
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const file of entries.filter((f) => f.endsWith(".md")).sort()) {
    const path = join(dir, file);
    const st = lstatSync(path);
    if (!st.isFile() || st.size > MAX_SKILL_BYTES) continue;
    out[file] = readFileSync(path, "utf8");
  }
  return out;
}

/** A generated skill teaching the core's own tools (hello.*, list_tools, get_session_info, …). */
export function intrinsicSkill(tools: readonly ToolEntry[]): string {
  const lines = tools.map((t) => {
    const props = Object.keys((t.arguments_schema.properties as Record<string, unknown> | undefined) ?? {});
    const example = `{${props.map((p) => `"${p}":"…"`).join(",")}}`;
    return `- \`${t.name}\`: ${t.description}\n  Example: \`ipc ${t.name} '${example}'\``;
  });
  return `---
name: carapace-core
description: Call Carapace's built-in tools with ipc - list the tools you may call, inspect this session, and the hello tools. Use when you need to know which tools exist or check that ipc works.
---

# Carapace core tools

Every tool is called as \`ipc <tool> '<json object>'\`. The result is JSON on stdout; an error is a JSON
object on stderr with a \`code\` and exit status 1.

${lines.join("\n")}
`;
}

/**
 * The skills mounted read-only into a session (Claude Code reads `~/.claude/skills/<name>/SKILL.md`):
 * skills of healthy plugins whose tools the group may call, plus the generated core skill.
 */
export function sessionSkills(
  statuses: readonly PluginStatus[],
  catalog: Catalog,
  group: string,
): Record<string, string> {
  const allowed = catalog.list().filter((t) => catalog.allows(t, group));
  const pluginsWithTools = new Set(allowed.map((t) => t.plugin));
  const out: Record<string, string> = {};
  for (const status of statuses) {
    if (status.state !== "healthy" || !pluginsWithTools.has(status.name)) continue;
    if (status.source === "mcp") {
      out[mcpSkillName(status.name)] = mcpSkill(
        status.name,
        allowed.filter((t) => t.plugin === status.name),
      );
      continue;
    }
    for (const [file, text] of Object.entries(pluginSkillFiles(status))) {
      const name = skillName(status.name, file);
      // mcp-<server> is the core's generated skill of an MCP server: a plugin (mcp-git, skills/hub.md)
      // may not write one in its place or beside it.
      if (SKILL_NAME.test(name) && !name.startsWith("mcp-")) out[name] = text;
    }
  }
  const core = allowed.filter((t) => t.plugin === "core" || t.plugin === "hello");
  if (core.length > 0) out["carapace-core"] = intrinsicSkill(core);
  return out;
}
