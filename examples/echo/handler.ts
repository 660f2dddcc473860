/**
 * The echo example plugin. Copy this folder to `$CARAPACE_HOME/plugins/echo`, check it with
 * `carapace plugin validate`, and restart the core: the agent can then run `ipc echo.say '{"message":"hi"}'`.
 */
import { type CoreServices, type PluginHandler, type ToolContext, ToolError } from "@carapace/sdk";

let services: CoreServices | null = null;

const handler: PluginHandler = {
  initialize(s) {
    services = s;
  },

  handleToolInvocation(tool: string, args: Record<string, unknown>, context: ToolContext) {
    if (tool !== "echo.say") throw new ToolError("UNSUPPORTED_TOOL", `The echo plugin has no tool ${tool}.`);
    // The core already validated args against the manifest's schema; these reads only narrow the types.
    const message = String(args.message);
    const text = args.shout === true ? message.toUpperCase() : message;
    const times = typeof args.times === "number" ? args.times : 1;
    services?.log("debug", `echo for group ${context.group}`);
    return { echo: Array.from({ length: times }, () => text).join(" ") };
  },

  shutdown() {
    services = null;
  },
};

export default handler;
