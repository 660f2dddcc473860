/**
 * The agent scenarios that run against the real model (`bun run test:real-api`) and, with their scripted
 * turns, against the scripted model in CI. Checks look only at observable outcomes: which tools ran or
 * were rejected with which code (the core's audit records) and exit codes, never at the model's wording.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ScriptedTurn } from "../../src/agent/scripted-model.ts";
import { installPlugin } from "../fixtures/plugins/install.ts";

export type AuditRecord = Record<string, unknown>;

export interface ScenarioOutcome {
  /** Exit code of each `carapace prompt`, in order. */
  exits: number[];
  audit: AuditRecord[];
  /** Whether a pending high-risk call was approved while a prompt ran. */
  approved: boolean;
}

export interface Scenario {
  name: string;
  group: string;
  /** Extra config.toml text (no [budget]: the runner owns it). */
  config?: string;
  setup?(home: string): void;
  /** Each prompt is one session of the group, run one after another. */
  prompts: string[];
  /** Approve the high-risk calls that wait while the prompts run. */
  approve?: boolean;
  /** The scripted model's turns standing in for the real model when the runner is proven in CI. */
  script: ScriptedTurn[];
  /** What went wrong, empty when the scenario passed. */
  check(outcome: ScenarioOutcome): string[];
}

const bash = (command: string): ScriptedTurn => ({
  tool_use: { name: "Bash", input: { command, description: "call a Carapace tool" } },
});
const done = (text = "done"): ScriptedTurn => ({ text });

const routed = (audit: AuditRecord[], tool: string) =>
  audit.filter((a) => a.kind === "routed" && a.topic === `tool.invoke.${tool}`).length;
const rejected = (audit: AuditRecord[], code: string, stage?: number) =>
  audit.some((a) => a.code === code && (stage === undefined || a.stage === stage));
const sessionEvents = (audit: AuditRecord[], event: string) =>
  audit.filter((a) => a.kind === "session" && (a.detail as { event?: string } | undefined)?.event === event).length;

function expectAll(pairs: [boolean, string][]): string[] {
  return pairs.filter(([ok]) => !ok).map(([, why]) => why);
}

function writeOpsOnlyPlugin(home: string): void {
  const dir = join(home, "plugins", "ops_only");
  mkdirSync(join(dir, "skills"), { recursive: true, mode: 0o755 });
  writeFileSync(
    join(dir, "manifest.json"),
    JSON.stringify({
      description: "Only the ops group may call this.",
      version: "1.0.0",
      author: "tests",
      allowed_groups: ["ops"],
      provides: {
        tools: [
          {
            name: "ops_only.run",
            description: "ops only",
            risk_level: "low",
            arguments_schema: { type: "object", properties: {}, additionalProperties: false },
          },
        ],
      },
    }),
  );
  writeFileSync(
    join(dir, "handler.ts"),
    "export default { initialize() {}, handleToolInvocation() { return { ran: true }; } };\n",
  );
}

export const SCENARIOS: Scenario[] = [
  {
    name: "happy-path tool call",
    group: "happy",
    prompts: ["Call the hello.echo tool with the message real-api-ok, then tell me what it returned."],
    script: [bash(`ipc hello.echo '{"message":"real-api-ok"}'`), done()],
    check: (o) =>
      expectAll([
        [o.exits[0] === 0, `prompt exit ${o.exits[0]}`],
        [routed(o.audit, "hello.echo") >= 1, "hello.echo never ran"],
      ]),
  },
  {
    name: "multi-tool chain",
    group: "chain",
    prompts: ["First call hello.time, then call hello.echo with the message chain-ok, then report both results."],
    script: [bash(`ipc hello.time '{}'`), bash(`ipc hello.echo '{"message":"chain-ok"}'`), done()],
    check: (o) =>
      expectAll([
        [o.exits[0] === 0, `prompt exit ${o.exits[0]}`],
        [routed(o.audit, "hello.time") >= 1, "hello.time never ran"],
        [routed(o.audit, "hello.echo") >= 1, "hello.echo never ran"],
      ]),
  },
  {
    name: "error handling: VALIDATION_FAILED",
    group: "invalid",
    prompts: [
      'Call hello.echo with the arguments {"message": 42} exactly as given (a number), once, and tell me the error code you got. Do not retry.',
    ],
    script: [bash(`ipc hello.echo '{"message":42}'`), done("VALIDATION_FAILED")],
    check: (o) =>
      expectAll([
        [o.exits[0] === 0, `prompt exit ${o.exits[0]}`],
        [rejected(o.audit, "VALIDATION_FAILED", 3), "no VALIDATION_FAILED at stage 3"],
      ]),
  },
  {
    name: "rate limiting: RATE_LIMITED with retry_after",
    group: "limited",
    config: "[groups.limited]\nrate_limit_burst = 1\nrate_limit_per_minute = 1\n",
    prompts: [
      "Call hello.echo with the message one, then immediately call it again with the message two. Report any error.",
    ],
    script: [bash(`ipc hello.echo '{"message":"one"}'`), bash(`ipc hello.echo '{"message":"two"}'`), done()],
    check: (o) =>
      expectAll([
        [routed(o.audit, "hello.echo") >= 1, "hello.echo never ran"],
        [rejected(o.audit, "RATE_LIMITED", 4), "no RATE_LIMITED at stage 4"],
      ]),
  },
  {
    name: "cross-group rejection",
    group: "dev",
    setup: writeOpsOnlyPlugin,
    prompts: ["Call the ops_only.run tool with {} once and tell me the error code. Do not retry."],
    script: [bash(`ipc ops_only.run '{}'`), done()],
    check: (o) =>
      expectAll([
        [rejected(o.audit, "UNAUTHORIZED", 4), "no UNAUTHORIZED at stage 4"],
        [routed(o.audit, "ops_only.run") === 0, "ops_only.run ran for a group it does not allow"],
      ]),
  },
  {
    name: "malformed arguments, then self-correction",
    group: "fix",
    prompts: [
      'Call hello.echo with {"msg": "hi"} first. If it is rejected, read the error and call it again correctly with the message hi.',
    ],
    script: [bash(`ipc hello.echo '{"msg":"hi"}'`), bash(`ipc hello.echo '{"message":"hi"}'`), done()],
    check: (o) =>
      expectAll([
        [rejected(o.audit, "VALIDATION_FAILED", 3), "no VALIDATION_FAILED at stage 3"],
        [routed(o.audit, "hello.echo") >= 1, "the agent never called hello.echo correctly"],
      ]),
  },
  {
    name: "session lifecycle",
    group: "life",
    prompts: ["Call get_session_info once, then finish."],
    script: [bash(`ipc get_session_info '{}'`), done()],
    check: (o) =>
      expectAll([
        [o.exits[0] === 0, `prompt exit ${o.exits[0]}`],
        [routed(o.audit, "get_session_info") >= 1, "get_session_info never ran"],
        [sessionEvents(o.audit, "opened") === 1, "the session was not opened exactly once"],
        [sessionEvents(o.audit, "closed") === 1, "the session was not closed (cleaned up) exactly once"],
      ]),
  },
  {
    name: "memory brief injection",
    group: "mem",
    prompts: [
      "Store this fact with memory_store: the favourite colour of the user is teal.",
      "Without calling any tool, what is the favourite colour of the user?",
    ],
    script: [
      bash(`ipc memory_store '{"type":"fact","content":"The favourite colour of the user is teal"}'`),
      done("stored"),
      done("teal"),
    ],
    check: (o) =>
      expectAll([
        [o.exits.every((e) => e === 0), `prompt exits ${o.exits.join(",")}`],
        [routed(o.audit, "memory_store") >= 1, "memory_store never ran"],
        [sessionEvents(o.audit, "opened") === 2, "two sessions did not run"],
      ]),
  },
  {
    name: "plugin failure degradation",
    group: "degrade",
    setup: (home) => installPlugin(home, "init-fails"),
    prompts: ["Call get_session_info and tell me which plugins failed to start."],
    script: [bash(`ipc get_session_info '{}'`), done()],
    check: (o) =>
      expectAll([
        [o.exits[0] === 0, `prompt exit ${o.exits[0]}`],
        [routed(o.audit, "get_session_info") >= 1, "get_session_info never ran"],
      ]),
  },
  {
    name: "high-risk confirmation, approved",
    group: "risk",
    setup: (home) => installPlugin(home, "high-risk"),
    approve: true,
    prompts: ["Call the high_risk.run tool with {} once and report the result."],
    script: [bash(`ipc high_risk.run '{}'`), done()],
    check: (o) =>
      expectAll([
        [o.approved, "no high-risk call waited for approval"],
        [routed(o.audit, "high_risk.run") >= 1, "high_risk.run did not run after approval"],
      ]),
  },
];
