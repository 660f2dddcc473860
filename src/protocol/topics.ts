/** Topic names of the wire protocol (docs/ARCHITECTURE.md). Requests are `tool.invoke.<tool>`; everything else is an event. */
export const TOOL_INVOKE_PREFIX = "tool.invoke.";

export const EVENT_TOPICS = [
  "message.inbound",
  "task.created",
  "task.triggered",
  "agent.started",
  "agent.completed",
  "agent.error",
  "plugin.ready",
  "plugin.stopping",
  "response.system",
  "response.chunk",
  "response.tool_call",
  "response.tool_result",
  "response.end",
  "response.error",
  "session.opened",
  "session.closed",
  "call.completed",
  "approval.pending",
  "approval.decided",
] as const;

export type EventTopic = (typeof EVENT_TOPICS)[number];

export const TOOL_NAME_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)?$/;

/** `hello.echo` → `tool.invoke.hello.echo`; a full topic is returned unchanged. */
export function toInvokeTopic(toolOrTopic: string): string {
  return toolOrTopic.startsWith(TOOL_INVOKE_PREFIX) ? toolOrTopic : TOOL_INVOKE_PREFIX + toolOrTopic;
}

/** The tool name of an invoke topic, or null when the topic is not a well-formed invoke topic. */
export function toolFromTopic(topic: string): string | null {
  if (!topic.startsWith(TOOL_INVOKE_PREFIX)) return null;
  const tool = topic.slice(TOOL_INVOKE_PREFIX.length);
  return TOOL_NAME_PATTERN.test(tool) ? tool : null;
}
