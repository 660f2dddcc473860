import { defineCommand } from "citty";
import { control } from "./control-client.ts";
import { EXIT } from "./errors.ts";
import { printJson, withHome } from "./run-command.ts";

const openCommand = defineCommand({
  meta: {
    name: "open",
    description:
      "Open a session without a container; prints its id and request socket.\nExit codes: 0 opened; 1 refused; 3 core not running.",
  },
  args: {
    group: { type: "string", description: "Group of the session", default: "default" },
    json: { type: "boolean", description: "Print JSON", default: false },
  },
  run: ({ args }) =>
    withHome((home) => {
      const s = control(home, "session.open", { group: args.group }) as { id: string; socket: string; group: string };
      if (args.json) printJson(s);
      else process.stdout.write(`session ${s.id} (group ${s.group})\nexport CARAPACE_SOCKET=${s.socket}\n`);
      return EXIT.ok;
    }),
});

const closeCommand = defineCommand({
  meta: {
    name: "close",
    description:
      "End a session: its socket is closed and removed.\nExit codes: 0 closed; 1 no such session; 3 core not running.",
  },
  args: {
    id: { type: "positional", description: "Session id", required: true },
    json: { type: "boolean", description: "Print JSON", default: false },
  },
  run: ({ args }) =>
    withHome((home) => {
      control(home, "session.close", { id: args.id });
      if (args.json) printJson({ id: args.id, closed: true });
      else process.stdout.write(`session ${args.id} closed\n`);
      return EXIT.ok;
    }),
});

export const sessionCommand = defineCommand({
  meta: {
    name: "session",
    description:
      "Open or close sessions that have no container (tests, demos).\nExit codes: see each subcommand (0 done; 1 refused; 3 core not running).",
  },
  subCommands: { open: openCommand, close: closeCommand },
});
