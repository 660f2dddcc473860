import { TO_CORE } from "../channel/messages.ts";
import type { Candidate } from "../loader.ts";

/**
 * The MCP bridge's own message to the core (its server's tool list changed) in front of the service
 * desk every plugin process has. Any other plugin sending it is answered as for an unknown service.
 */
export function mcpToolsDesk(
  candidate: Candidate,
  onTools: (tools: unknown) => void,
  desk: (topic: string, args: unknown) => Promise<unknown>,
): (topic: string, args: unknown) => Promise<unknown> {
  if (!candidate.mcp) return desk;
  return async (topic, args) => {
    if (topic !== TO_CORE.mcpTools) return desk(topic, args);
    onTools((args as { tools?: unknown } | null)?.tools);
    return null;
  };
}
