/** `carapace`: the citty root command, nothing else. */
import { defineCommand } from "citty";
import { approvalsCommand, approveCommand, denyCommand } from "./cli/approvals.ts";
import { auditCommand } from "./cli/audit.ts";
import { authCommand } from "./cli/auth.ts";
import { callCommand } from "./cli/call.ts";
import { channelCommand } from "./cli/channel.ts";
import { chatCommand } from "./cli/chat.ts";
import { completionCommand } from "./cli/completion.ts";
import { configCommand } from "./cli/config.ts";
import { demoCommand } from "./cli/demo.ts";
import { doctorCommand } from "./cli/doctor.ts";
import { eventsCommand } from "./cli/events.ts";
import { imageCommand } from "./cli/image.ts";
import { logsCommand } from "./cli/logs.ts";
import { mcpCommand } from "./cli/mcp.ts";
import { pluginCommand } from "./cli/plugin.ts";
import { promptCommand } from "./cli/prompt.ts";
import { runCli } from "./cli/run-main.ts";
import { serviceCommand } from "./cli/service.ts";
import { sessionCommand } from "./cli/session.ts";
import { setupCommand } from "./cli/setup.ts";
import { startCommand } from "./cli/start.ts";
import { statusCommand } from "./cli/status.ts";
import { stopCommand } from "./cli/stop.ts";
import type { AnyCommand } from "./cli/strict-args.ts";
import { taskCommand } from "./cli/task.ts";
import { toolsCommand } from "./cli/tools.ts";
import { uninstallCommand } from "./cli/uninstall.ts";
import { updateCommand } from "./cli/update.ts";
import { usageCommand } from "./cli/usage.ts";
import { CARAPACE_VERSION } from "./config/version.ts";

export const main: AnyCommand = defineCommand({
  meta: {
    name: "carapace",
    version: CARAPACE_VERSION,
    description:
      "A personal AI agent that cannot hurt you.\n" +
      "Exit codes: 0 success; 1 failure or error reply; 2 usage error; 3 the core is not reachable.",
  },
  subCommands: {
    start: startCommand,
    stop: stopCommand,
    status: statusCommand,
    service: serviceCommand,
    logs: logsCommand,
    session: sessionCommand,
    prompt: promptCommand,
    chat: chatCommand,
    task: taskCommand,
    channel: channelCommand,
    call: callCommand,
    tools: toolsCommand,
    approvals: approvalsCommand,
    approve: approveCommand,
    deny: denyCommand,
    audit: auditCommand,
    events: eventsCommand,
    usage: usageCommand,
    auth: authCommand,
    config: configCommand,
    plugin: pluginCommand,
    mcp: mcpCommand,
    demo: demoCommand,
    doctor: doctorCommand,
    image: imageCommand,
    update: updateCommand,
    setup: setupCommand,
    uninstall: uninstallCommand,
    completion: completionCommand((): AnyCommand => main),
  },
});

// A plugin's own process (started by the core inside its sandbox) runs the same binary.
if (import.meta.main) {
  if (process.argv[2] === "__plugin-runner") await (await import("./plugins/runner/main.ts")).runPluginRunner();
  else await runCli(main);
}
