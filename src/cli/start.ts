import { defineCommand } from "citty";
import { runCore } from "../core/daemon/run-core.ts";
import { reexecWithAllocatorEnv } from "../platform/allocator-env.ts";
import { configureOutput, joinLogStream } from "./output.ts";
import { withHome } from "./run-command.ts";

export const startCommand = defineCommand({
  meta: {
    name: "start",
    description:
      "Run the core in the foreground (Ctrl-C or `carapace stop` stops it gracefully).\n" +
      "Exit codes: 0 stopped cleanly; 1 could not start (already running, bad config, insecure credentials).",
  },
  args: {
    debug: { type: "boolean", description: "Print every hop of every call (redacted)", default: false },
    "trace-filter": { type: "string", description: "With --debug: only trace topics with this prefix" },
    watch: {
      type: "boolean",
      description: "Reload a plugin when its folder changes (user plugins, [plugins] dirs)",
      default: false,
    },
  },
  run: ({ args }) => {
    // The allocator's options are read as a process starts: a core started without them becomes itself
    // again with them (same pid, argv and descriptors) before it reads its home.
    reexecWithAllocatorEnv();
    return withHome((home) =>
      runCore({
        home,
        watch: args.watch === true,
        ...(args.debug ? { debug: args["trace-filter"] ? { traceFilter: String(args["trace-filter"]) } : {} } : {}),
        configureLogging: (logging) => joinLogStream(logging, configureOutput(logging), args.debug === true),
      }),
    );
  },
});
