import { describe, expect, test } from "bun:test";
import type { ScriptedTurn } from "../../src/agent/scripted-model.ts";
import { installPlugin } from "../fixtures/plugins/install.ts";
import { agentHome, agentSkipReason } from "../harness/agent-env.ts";
import { startCore } from "../harness/core.ts";

/** What the model was sent as conversation messages (CLAUDE.md and tools are elsewhere in the body). */
const messagesOf = (req: unknown) => JSON.stringify((req as { messages?: unknown }).messages ?? null);

/** A scripted turn that answers with what it found of `words` in the messages it was sent. */
const seen = (label: string, words: string[]): ScriptedTurn => ({
  respond: (req) => ({ text: `${label}: ${words.filter((w) => messagesOf(req).includes(w)).join(",") || "nothing"}` }),
});

/** The conversation id a `prompt --json` run ended with. */
function conversationOf(stdout: string): string {
  const done = JSON.parse(stdout.trim().split("\n").at(-1) as string) as { conversation?: string };
  return done.conversation as string;
}

describe.skipIf(agentSkipReason !== null)(
  "conversations that continue (real Podman, Claude Code, scripted model)",
  () => {
    test("a follow-up is answered from the earlier turn; another group never sees it; a new prompt starts over", async () => {
      const { home, model } = await agentHome([
        { text: "Noted, your code word is kept." },
        seen("follow-up saw", ["pelican-42", "Noted, your code word is kept."]),
        seen("other group saw", ["pelican-42"]),
        seen("fresh prompt saw", ["pelican-42"]),
      ]);
      const core = await startCore({ home });
      try {
        const first = await core.carapace(["prompt", "My code word is pelican-42", "--group", "talk", "--json"]);
        expect(first.code).toBe(0);
        const id = conversationOf(first.stdout);
        expect(id).toMatch(/^[0-9a-f]{20}$/);

        const followUp = await core.carapace([
          "prompt",
          "What is my code word?",
          "--group",
          "talk",
          "--conversation",
          id,
        ]);
        expect(followUp.code).toBe(0);
        expect(followUp.stdout).toContain("follow-up saw: pelican-42,Noted, your code word is kept.");
        // The earlier turn reached the new session as host-rendered quoted data, not as Claude Code's resume.
        const followUpMessages = messagesOf(model.requests.at(-1)?.body);
        expect(followUpMessages).toContain("## Earlier turns of this conversation");
        expect(followUpMessages).toContain('[turn 1, from the owner (via cli)] \\"My code word is pelican-42\\"');

        // Group isolation: the id is not found in another group, and no session starts for it.
        const before = model.requests.length;
        const foreign = await core.carapace([
          "prompt",
          "What is my code word?",
          "--group",
          "other",
          "--conversation",
          id,
        ]);
        expect(foreign.code).toBe(1);
        expect(foreign.stderr).toContain(`[CONVERSATION] Error: no open conversation "${id}" in group other.`);
        expect(model.requests.length).toBe(before);
        const otherGroup = await core.carapace(["prompt", "What is my code word?", "--group", "other"]);
        expect(otherGroup.stdout).toContain("other group saw: nothing");

        // Without --conversation, a prompt is one-shot as before.
        const fresh = await core.carapace(["prompt", "What is my code word?", "--group", "talk"]);
        expect(fresh.stdout).toContain("fresh prompt saw: nothing");
      } finally {
        await core.stop();
        await model.close();
      }
    }, 180_000);

    test("the group's history limit drops the oldest turns first", async () => {
      const { home, model } = await agentHome(
        [{ text: "one noted" }, { text: "two noted" }, seen("third saw", ["alpha-word", "beta-word"])],
        "[groups.short]\nhistory_turns = 1\n",
      );
      const core = await startCore({ home });
      try {
        const first = await core.carapace(["prompt", "Remember alpha-word", "--group", "short", "--json"]);
        const id = conversationOf(first.stdout);
        expect(
          (await core.carapace(["prompt", "Remember beta-word", "--group", "short", "--conversation", id])).code,
        ).toBe(0);
        const third = await core.carapace(["prompt", "Which words?", "--group", "short", "--conversation", id]);
        expect(third.stdout).toContain("third saw: beta-word");
        expect(messagesOf(model.requests.at(-1)?.body)).toContain("1 older turn(s) are not shown.");
      } finally {
        await core.stop();
        await model.close();
      }
    }, 180_000);
  },
);

const bash = (command: string) => ({
  tool_use: { name: "Bash", input: { command, description: "call a Carapace tool" } },
});

describe.skipIf(agentSkipReason !== null)("carapace chat (real Podman, Claude Code, scripted model)", () => {
  test("piped lines are turns of one conversation; /new starts over without the earlier turns", async () => {
    const { home, model } = await agentHome([
      { text: "Noted the heron." },
      seen("second turn saw", ["heron-7", "Noted the heron."]),
      seen("after /new saw", ["heron-7"]),
    ]);
    const core = await startCore({ home });
    try {
      const r = await core.carapace(["chat", "--group", "talk"], {
        stdin: "My code word is heron-7\nWhat is my code word?\n/new\nWhat is my code word?\n/exit\nnever sent\n",
      });
      expect(r.stderr).not.toContain("Error");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Noted the heron.");
      expect(r.stdout).toContain("second turn saw: heron-7,Noted the heron.");
      expect(r.stdout).toContain("after /new saw: nothing");
      const ids = [...r.stderr.matchAll(/\[chat\] conversation ([0-9a-f]{20}) /g)].map((m) => m[1]);
      expect(ids).toHaveLength(2);
      expect(ids[0]).not.toBe(ids[1]);
      // Three turns, three sessions: the line after /exit was never sent.
      expect(JSON.stringify(model.requests.map((q) => q.body))).not.toContain("never sent");

      // The first conversation continues from another chat, by its id.
      model.script([seen("resumed saw", ["heron-7"])]);
      const resumed = await core.carapace(["chat", "--group", "talk", "--conversation", ids[0] as string], {
        stdin: "And again?\n",
      });
      expect(resumed.stdout).toContain("resumed saw: heron-7");
    } finally {
      await core.stop();
      await model.close();
    }
  }, 240_000);

  test("a high-risk call is shown inline and approved or denied there by the person at the REPL", async () => {
    const { home, model } = await agentHome([
      bash(`ipc high_risk.run '{}'`),
      {
        respond: (req) => ({ text: JSON.stringify(req).includes('\\"done\\":true') ? "approved and done" : "not run" }),
      },
      bash(`ipc high_risk.run '{}'`),
      { respond: (req) => ({ text: JSON.stringify(req).includes("CONFIRMATION_DENIED") ? "it was denied" : "?" }) },
    ]);
    installPlugin(home, "high-risk");
    const core = await startCore({ home });
    try {
      const r = await core.carapace(["chat", "--group", "risk"], {
        stdin: "Do the risky thing\nyes\nDo it once more\nno\n",
      });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("[chat] the agent wants to run high-risk tool high_risk.run");
      expect(r.stderr).toContain("[chat] approved (request ");
      expect(r.stderr).toContain("[chat] denied (request ");
      expect(r.stdout).toContain("approved and done");
      expect(r.stdout).toContain("it was denied");
      // Each decision is audited with the approver: this process, through the control socket.
      const decisions = core
        .audit("risk")
        .filter((a) => a.kind === "confirmation")
        .map((a) => a.detail as { decision: string; approver: { channel: string; uid?: number } });
      expect(decisions.map((d) => d.decision)).toEqual(["approved", "denied"]);
      for (const d of decisions) expect(d.approver).toMatchObject({ channel: "cli", uid: process.getuid?.() });
    } finally {
      await core.stop();
      await model.close();
    }
  }, 240_000);
});
