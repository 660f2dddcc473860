/**
 * What `carapace uninstall` would remove, gathered without changing anything: the $CARAPACE_HOME tree
 * by top-level entry with sizes, the executables in its bin/, the agent images and the managed
 * containers of the container runtime (when one answers), and the marked PATH lines of rc files.
 */
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { VERSION_FILE } from "../config/home.ts";
import { loadConfig } from "../config/load.ts";
import { detectRuntime, type RuntimePreference } from "../container/detect.ts";
import { bunExec, type Exec } from "../container/exec.ts";
import { LABELS } from "../container/paths.ts";
import type { ContainerRuntime } from "../container/runtime.ts";
import { diskUsage } from "./disk-usage.ts";
import { CliError } from "./errors.ts";
import { findMarkedRcFiles, type RcEdit } from "./rc-files.ts";

export const AGENT_IMAGE_REPOSITORY = "localhost/carapace-agent";
/** Kept by --keep-data. */
export const DATA_ENTRIES = ["data", "credentials"] as const;

export interface HomeItem {
  name: string;
  path: string;
  bytes: number;
  directory: boolean;
  kept: boolean;
}

export interface SizedFile {
  path: string;
  bytes: number;
}

export interface ImageItem {
  ref: string;
  /** As the runtime prints it ("636 MB"). */
  size: string;
}

export interface ContainerItem {
  name: string;
  running: boolean;
}

export interface RuntimeFindings {
  runtime: ContainerRuntime | null;
  /** "podman 4.3.1", or why nothing was listed. */
  description: string;
  images: ImageItem[];
  containers: ContainerItem[];
}

export interface UninstallPlan {
  home: string;
  homeExists: boolean;
  homeItems: HomeItem[];
  binaries: SizedFile[];
  runtime: RuntimeFindings;
  rcEdits: RcEdit[];
  keepData: boolean;
  /** A `carapace` executable outside the home that uninstall does not touch (a package, a dev build). */
  foreignExecutable: string | null;
}

function isWithin(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !rel.startsWith(sep) && rel !== "..");
}

/** Refuses homes whose removal would take more than Carapace's own files with it. */
export function assertRemovableHome(home: string, userHome: string): void {
  const absolute = resolve(home);
  if (absolute === "/" || isWithin(resolve(userHome), absolute)) {
    throw new CliError(
      "UNINSTALL",
      `CARAPACE_HOME is ${absolute}, which is or contains your home directory; refusing to remove it`,
      "point CARAPACE_HOME at the Carapace home itself (by default ~/.carapace)",
    );
  }
  if (existsSync(absolute) && !existsSync(join(absolute, VERSION_FILE))) {
    throw new CliError(
      "UNINSTALL",
      `${absolute} has no ${VERSION_FILE} file, so it does not look like a Carapace home; nothing was removed`,
      "point CARAPACE_HOME at the Carapace home, or remove the directory yourself if you are sure",
    );
  }
}

function homeItems(home: string, keepData: boolean): HomeItem[] {
  if (!existsSync(home)) return [];
  return readdirSync(home, { withFileTypes: true })
    .map((entry) => {
      const path = join(home, entry.name);
      return {
        name: entry.name,
        path,
        bytes: diskUsage(path),
        directory: entry.isDirectory(),
        kept: keepData && (DATA_ENTRIES as readonly string[]).includes(entry.name),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

function binaries(home: string): SizedFile[] {
  const bin = join(home, "bin");
  if (!existsSync(bin)) return [];
  return readdirSync(bin).map((name) => ({ path: join(bin, name), bytes: diskUsage(join(bin, name)) }));
}

/** `podman|docker images` for the agent repository, every tag. */
export async function listAgentImages(exec: Exec, binary: string): Promise<ImageItem[]> {
  const r = await exec.run(
    [
      binary,
      "images",
      "--filter",
      `reference=${AGENT_IMAGE_REPOSITORY}`,
      "--format",
      "{{.Repository}}:{{.Tag}}\t{{.Size}}",
    ],
    { timeoutMs: 10_000 },
  );
  if (r.code !== 0) throw new Error(r.stderr.trim() || `${binary} images exited with ${r.code}`);
  return r.stdout
    .split("\n")
    .map((line) => line.trim())
    .filter(
      (line) => line.startsWith(`${AGENT_IMAGE_REPOSITORY}:`) && !line.startsWith(`${AGENT_IMAGE_REPOSITORY}:<none>`),
    )
    .map((line) => {
      const [ref = "", size = "?"] = line.split("\t");
      return { ref, size };
    });
}

async function runtimeFindings(home: string, exec: Exec): Promise<RuntimeFindings> {
  let preference: RuntimePreference = "auto";
  try {
    preference = loadConfig(home).runtime.engine;
  } catch {
    // An invalid config must not stop an uninstall; any runtime found will do.
  }
  let detected: Awaited<ReturnType<typeof detectRuntime>>;
  try {
    detected = await detectRuntime({ preference, exec });
  } catch {
    return { runtime: null, description: "no container runtime answers", images: [], containers: [] };
  }
  const { runtime, info } = detected;
  const description = `${info.name} ${info.version}`;
  const containers = (await runtime.listByLabel(LABELS.managed, "true")).map((c) => ({
    name: c.name,
    running: c.running,
  }));
  if (info.name !== "podman" && info.name !== "docker")
    return { runtime, description: `${description} (images are not listed for it)`, images: [], containers };
  return { runtime, description, images: await listAgentImages(exec, info.name), containers };
}

export async function planUninstall(
  home: string,
  options: { keepData: boolean; userHome?: string; exec?: Exec },
): Promise<UninstallPlan> {
  const userHome = options.userHome ?? homedir();
  assertRemovableHome(home, userHome);
  const compiled = import.meta.url.startsWith("file:///$bunfs/");
  return {
    home,
    homeExists: existsSync(home),
    homeItems: homeItems(home, options.keepData),
    binaries: binaries(home),
    runtime: await runtimeFindings(home, options.exec ?? bunExec),
    rcEdits: findMarkedRcFiles(userHome),
    keepData: options.keepData,
    foreignExecutable: compiled && !isWithin(process.execPath, home) ? process.execPath : null,
  };
}
