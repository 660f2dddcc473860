import type { ToolEntry } from "../../plugins/catalog.ts";

const always = () => true;

/** The hello tools: the smallest real round trip through all six stages. */
export function helloTools(): ToolEntry[] {
  return [
    {
      name: "hello.greet",
      description: "Greets someone by name.",
      risk_level: "low",
      plugin: "hello",
      allowed_groups: ["*"],
      available: always,
      arguments_schema: {
        type: "object",
        properties: { name: { type: "string", minLength: 1, maxLength: 200 } },
        required: ["name"],
        additionalProperties: false,
      },
      invoke: (args) => ({ greeting: `Hello, ${String(args.name)}!` }),
    },
    {
      name: "hello.echo",
      description: "Echoes a message back.",
      risk_level: "low",
      plugin: "hello",
      allowed_groups: ["*"],
      available: always,
      arguments_schema: {
        type: "object",
        properties: { message: { type: "string", maxLength: 100 * 1024 } },
        required: ["message"],
        additionalProperties: false,
      },
      invoke: (args) => ({ message: args.message }),
    },
    {
      name: "hello.time",
      description: "Returns the host's current time (ISO-8601, UTC).",
      risk_level: "low",
      plugin: "hello",
      allowed_groups: ["*"],
      available: always,
      arguments_schema: { type: "object", properties: {}, additionalProperties: false },
      invoke: () => ({ now: new Date().toISOString() }),
    },
  ];
}
