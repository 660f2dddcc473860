import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname } from "node:path";
import { defineCommand } from "citty";
import { singleLine } from "../core/response/terminal-text.ts";
import { CliError, EXIT } from "./errors.ts";
import { printJson, withHome } from "./run-command.ts";
import { managerCommands, runManager } from "./service/manager.ts";
import { launchdPlist, serviceTarget, systemdUnit } from "./service/units.ts";

function unitText(home: string): string {
  const target = serviceTarget();
  const binary = process.execPath;
  if (target.kind === "launchd") return launchdPlist({ binary, carapaceHome: home });
  return systemdUnit({
    binary,
    carapaceHome: home,
    system: target.kind === "systemd-system",
    user: userInfo().username,
  });
}

/** Removes dir and its parents up to (not including) stop while they are empty: what install created. */
function removeEmptyDirs(dir: string, stop: string): void {
  for (let d = dir; d.startsWith(`${stop}/`) && existsSync(d) && readdirSync(d).length === 0; d = dirname(d))
    rmdirSync(d);
}

async function runAll(commands: string[][]): Promise<void> {
  for (const argv of commands) {
    const r = await runManager(argv);
    if (r.code !== 0)
      throw new CliError(
        "SERVICE",
        `\`${argv.join(" ")}\` failed (exit ${r.code}): ${singleLine(r.output).trim().slice(0, 300)}`,
        "check the service manager's own log (journalctl --user -u carapace, or Console.app), then try again",
      );
  }
}

const install = defineCommand({
  meta: {
    name: "install",
    description:
      "Write and enable a service that starts the core at boot and restarts it when it fails (systemd user unit, system unit when root, or a launchd agent on macOS).\n" +
      "Exit codes: 0 installed; 1 the service manager failed.",
  },
  args: { json: { type: "boolean", description: "Print JSON", default: false } },
  run: ({ args }) =>
    withHome(async (home) => {
      const target = serviceTarget();
      mkdirSync(dirname(target.path), { recursive: true, mode: 0o755 });
      writeFileSync(target.path, unitText(home), { mode: 0o644 });
      await runAll(managerCommands(target, "enable"));
      if (args.json) printJson({ installed: target.path, kind: target.kind });
      else process.stdout.write(`installed ${target.kind} service ${target.path}; logs: carapace logs -f\n`);
      return EXIT.ok;
    }),
});

const uninstall = defineCommand({
  meta: {
    name: "uninstall",
    description:
      "Disable and remove the service; the core keeps its home.\nExit codes: 0 removed (or none); 1 the service manager failed.",
  },
  args: { json: { type: "boolean", description: "Print JSON", default: false } },
  run: ({ args }) =>
    withHome(async () => {
      const target = serviceTarget();
      const present = existsSync(target.path);
      if (present) {
        await runAll(managerCommands(target, "disable"));
        rmSync(target.path, { force: true });
        if (target.kind !== "launchd") await runAll(managerCommands(target, "enable").slice(0, 1));
        // What install created above the file goes too: ~/.config/systemd/user or ~/Library/LaunchAgents, when empty.
        const root = target.kind === "systemd-system" ? dirname(target.path) : dirname(dirname(dirname(target.path)));
        removeEmptyDirs(dirname(target.path), root);
      }
      if (args.json) printJson({ removed: present ? target.path : null });
      else process.stdout.write(present ? `removed ${target.path}\n` : "no service installed\n");
      return EXIT.ok;
    }),
});

const status = defineCommand({
  meta: {
    name: "status",
    description:
      "Say whether the service is installed and what the service manager reports.\nExit codes: 0 installed and running; 1 not installed or not running.",
  },
  args: { json: { type: "boolean", description: "Print JSON", default: false } },
  run: ({ args }) =>
    withHome(async () => {
      const target = serviceTarget();
      const installed = existsSync(target.path);
      const [argv] = managerCommands(target, "status");
      const r = installed && argv ? await runManager(argv) : { code: 1, output: "" };
      const running = installed && r.code === 0;
      if (args.json) printJson({ installed, running, kind: target.kind, path: target.path });
      else {
        process.stdout.write(`${installed ? `installed: ${target.path}` : "not installed"} (${target.kind})\n`);
        if (r.output) process.stdout.write(`${singleLine(r.output).trim()}\n`);
      }
      return running ? EXIT.ok : EXIT.failure;
    }),
});

export const serviceCommand = defineCommand({
  meta: {
    name: "service",
    description:
      "Run the core as a service that starts at boot (systemd or launchd).\nExit codes: see each subcommand (0 done; 1 failed).",
  },
  subCommands: { install, uninstall, status },
});
