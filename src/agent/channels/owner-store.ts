/**
 * What the host remembers about a channel, in data/core/channels/<channel>.json (0600, a folder no
 * plugin is given): the paired owner (their user id and private chat) and the last update id the
 * core took, so an update replayed after a restart is refused. Plugins never read or write this.
 */
import { lstatSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../config/atomic-write.ts";

export interface ChannelOwner {
  /** The owner's user id on the chat service. */
  user: string;
  /** The owner's private chat with the bot: where approvals go. */
  chat: string;
  name: string;
  paired_at: string;
}

export interface ChannelState {
  owner: ChannelOwner | null;
  /** The highest update id taken; 0 before the first. */
  last_event_id: number;
}

function stateDir(home: string): string {
  return join(home, "data/core/channels");
}

function statePath(home: string, channel: string): string {
  return join(stateDir(home), `${channel}.json`);
}

function parseOwner(value: unknown): ChannelOwner | null {
  const o = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  if (typeof o.user !== "string" || typeof o.chat !== "string") return null;
  return {
    user: o.user,
    chat: o.chat,
    name: typeof o.name === "string" ? o.name : "",
    paired_at: typeof o.paired_at === "string" ? o.paired_at : "",
  };
}

export function readChannelState(home: string, channel: string): ChannelState {
  const path = statePath(home, channel);
  try {
    if (!lstatSync(path).isFile()) return { owner: null, last_event_id: 0 };
    const raw = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    const last = Number(raw.last_event_id);
    return { owner: parseOwner(raw.owner), last_event_id: Number.isSafeInteger(last) && last > 0 ? last : 0 };
  } catch {
    return { owner: null, last_event_id: 0 };
  }
}

export function writeChannelState(home: string, channel: string, state: ChannelState): void {
  mkdirSync(stateDir(home), { recursive: true, mode: 0o700 });
  writeFileAtomic(statePath(home, channel), `${JSON.stringify(state)}\n`, 0o600);
}
