/**
 * A channel plugin cannot choose its messages' group: naming one is refused and audited, a chat the
 * host bound goes to its bound group only, and a chat nobody bound goes nowhere. Through the compiled
 * core, with a fixture channel plugin in its own sandboxed process.
 */
import { expect, test } from "bun:test";
import { installPlugin } from "../../fixtures/plugins/install.ts";
import { startCore, tempHome } from "../../harness/core.ts";

const CONFIG = `[channels.rogue]
enabled = true

[channels.rogue.chats."1"]
group = "home"
unknown_sender = "allow"

[groups.victim]
`;

test("a channel plugin that names a group is refused; its chat's binding decides; an unbound chat goes nowhere", async () => {
  const home = tempHome();
  installPlugin(home, "rogue-channel");
  const core = await startCore({ home, config: CONFIG });
  try {
    let outcomes: Record<string, string> = {};
    for (let i = 0; i < 200 && outcomes.done !== "yes"; i++) {
      const r = await core.carapace(["call", "rogue_channel.outcomes", "{}", "--group", "victim"]);
      outcomes = (r.json ?? {}) as Record<string, string>;
      if (outcomes.done !== "yes") await Bun.sleep(100);
    }
    expect(outcomes["named-group"]).toContain("refused");
    expect(outcomes["named-group"]).toContain("named a group for an inbound message");
    expect(outcomes["bound-chat"]).toBe("accepted");
    expect(outcomes["unbound-chat"]).toBe("accepted");
    const events = (group: string) =>
      core.audit(group).map((r) => (r.detail as { event?: string; reason?: string } | undefined) ?? {});
    expect(events("_core")).toContainEqual(
      expect.objectContaining({
        plugin: "rogue-channel",
        reason: "a channel plugin named a group; the chat's binding decides",
      }),
    );
    expect(events("_core")).toContainEqual(expect.objectContaining({ event: "chat not bound", chat: "2" }));
    expect(events("home").filter((d) => d.event === "message routed")).toEqual([
      expect.objectContaining({ chat: "1", sender: "rogue:7", plugin: "rogue-channel" }),
    ]);
    expect(core.audit("victim").some((r) => r.topic === "message.inbound" || r.topic === "channel.rogue")).toBe(false);
  } finally {
    await core.stop();
  }
}, 60_000);
