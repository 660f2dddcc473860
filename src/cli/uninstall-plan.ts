/**
 * What `carapace uninstall` would remove, gathered without changing anything: the $CARAPACE_HOME tree
 * by top-level entry with sizes, the executables in its bin/, the images this home built and the
 * containers its core started (both carry the home's instance label; another home's are never
 * listed), and the PATH lines install.sh wrote for this home's bin/.
 */
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { homePath, VERSION_FILE } from "../config/home.ts";
import { loadConfig } from "../config/load.ts";
import { detectRuntime, type RuntimePreference } from "../container/detect.ts";
import { bunExec, type Exec } from "../container/exec.ts";
import { instanceId } from "../container/lockdown.ts";
import { LABELS } from "../container/paths.ts";
import type { ContainerRuntime } from "../container/runtime.ts";
import { IS_COMPILED } from "../platform/compiled.ts";
import { diskUsage } from "./disk-usage.ts";
import { CliError } from "./errors.ts";
import { findMarkedRcFiles, type RcEdit } from "./rc-files.ts";

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
  /** repository:tag, or the image id when it has no tag left. */
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
  // install.sh leaves bin/carapace before anything has written the version file.
  if (
    existsSync(absolute) &&
    !existsSync(join(absolute, VERSION_FILE)) &&
    !existsSync(join(absolute, "bin", "carapace"))
  ) {
    throw new CliError(
      "UNINSTALL",
      `${absolute} has neither a ${VERSION_FILE} file nor bin/carapace, so it does not look like a Carapace home; nothing was removed`,
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
  const bin = homePath(home, "bin");
  if (!existsSync(bin)) return [];
  return readdirSync(bin).map((name) => ({ path: join(bin, name), bytes: diskUsage(join(bin, name)) }));
}

/** `podman|docker images` labelled with this home's instance id: every tag, and untagged ones by id. */
export async function listHomeImages(exec: Exec, binary: string, instance: string): Promise<ImageItem[]> {
  const r = await exec.run(
    [
      binary,
      "images",
      "--filter",
      `label=${LABELS.instance}=${instance}`,
      "--format",
      "{{.ID}}\t{{.Repository}}:{{.Tag}}\t{{.Size}}",
    ],
    { timeoutMs: 10_000 },
  );
  if (r.code !== 0) throw new Error(r.stderr.trim() || `${binary} images exited with ${r.code}`);
  const items = new Map<string, ImageItem>();
  for (const line of r.stdout.split("\n")) {
    const [id = "", name = "", size = "?"] = line.trim().split("\t");
    if (id === "") continue;
    const ref = name === "" || name.includes("<none>") ? id : name;
    items.set(ref, { ref, size });
  }
  return [...items.values()];
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
  const instance = instanceId(home);
  const containers = (await runtime.listByLabel(LABELS.instance, instance))
    .filter((c) => c.labels[LABELS.managed] === "true")
    .map((c) => ({ name: c.name, running: c.running }));
  if (info.name !== "podman" && info.name !== "docker")
    return { runtime, description: `${description} (images are not listed for it)`, images: [], containers };
  return { runtime, description, images: await listHomeImages(exec, info.name, instance), containers };
}

export async function planUninstall(
  home: string,
  options: { keepData: boolean; userHome?: string; exec?: Exec; env?: Record<string, string | undefined> },
): Promise<UninstallPlan> {
  const userHome = options.userHome ?? homedir();
  assertRemovableHome(home, userHome);
  const compiled = IS_COMPILED;
  return {
    home,
    homeExists: existsSync(home),
    homeItems: homeItems(home, options.keepData),
    binaries: binaries(home),
    runtime: await runtimeFindings(home, options.exec ?? bunExec),
    rcEdits: findMarkedRcFiles(userHome, homePath(home, "bin"), options.env),
    keepData: options.keepData,
    foreignExecutable: compiled && !isWithin(process.execPath, home) ? process.execPath : null,
  };
}
