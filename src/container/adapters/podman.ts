/**
 * Podman adapter (first-class; rootful and rootless). Differences from Docker that matter here:
 * `--read-only` leaves /tmp, /var/tmp and /run writable unless `--read-only-tmpfs=false`; crun fails
 * on hybrid-cgroup kernels, so a runtime override (runc) can be set; rootless runs use
 * `--userns=keep-id`; SELinux hosts need mounts relabelled.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { bunExec, type Exec } from "../exec.ts";
import type { IsolationLevel, RunSpec, RuntimeInfo } from "../runtime.ts";
import { OciCliRuntime, QUERY_TIMEOUT_MS } from "./oci-cli.ts";
import { obj, parseJson, str, strList } from "./parse.ts";

export interface PodmanOptions {
  exec?: Exec;
  binary?: string;
  /** OCI runtime to force (`runc` on hybrid-cgroup kernels, where crun fails). */
  ociRuntime?: string;
  /** Rootless Podman: map the host user into the container (`--userns=keep-id`). */
  rootless?: boolean;
  /** SELinux enforcing: relabel bind mounts privately. */
  selinux?: boolean;
  /** The platform the CLI runs on; on macOS/Windows Podman runs its containers in a VM. */
  platform?: NodeJS.Platform;
  /** The directory of the local image store's images.json (see PodmanHostTraits.imageStore). */
  imageStore?: string;
}

export interface PodmanHostTraits {
  ociRuntime: string;
  selinux: boolean;
  cgroupVersion: string;
  rootless: boolean;
  /**
   * The directory holding the image store's images.json and images.lock, when every image this podman
   * names is in that one local store: not for a remote podman (its store is elsewhere) and not with
   * additional image stores configured (their tags are not in that file). Null otherwise.
   */
  imageStore: string | null;
}

export class PodmanRuntime extends OciCliRuntime {
  readonly name = "podman" as const;
  private readonly options: PodmanOptions;

  constructor(options: PodmanOptions = {}) {
    super(options.exec ?? bunExec, options.binary ?? "podman");
    this.options = options;
  }

  async version(): Promise<string> {
    const r = await this.cli(["version", "--format", "{{.Client.Version}}"], QUERY_TIMEOUT_MS);
    const v = r.stdout.trim();
    if (r.code !== 0 || !v) throw this.failure("version", r);
    return v;
  }

  async info(): Promise<RuntimeInfo> {
    return (await this.probe()).info;
  }

  /** The OCI runtime podman would use, and whether the host has SELinux on; used by detection. */
  async hostTraits(): Promise<PodmanHostTraits> {
    return (await this.probe()).traits;
  }

  /** Info and host traits from one `podman info` (each run costs ~0.5 s of CPU). */
  async probe(): Promise<{ info: RuntimeInfo; traits: PodmanHostTraits }> {
    const r = await this.cli(["info", "--format", "json"], 5000);
    const parsed = obj(parseJson(r.stdout));
    if (r.code !== 0 || !parsed.host) throw this.failure("info", r);
    const host = obj(parsed.host);
    const security = obj(host.security);
    const rootless = security.rootless === true;
    const controllers = strList(host.cgroupControllers);
    const platform = this.options.platform ?? process.platform;
    const isolation: IsolationLevel = platform !== "linux" ? "vm" : rootless ? "rootless-namespace" : "namespace";
    return {
      info: {
        name: "podman",
        version: str(obj(parsed.version).Version),
        rootless,
        isolation,
        enforcesLimits: controllers.includes("memory") && controllers.includes("pids"),
        cgroupVersion: str(host.cgroupVersion),
      },
      traits: {
        ociRuntime: str(obj(host.ociRuntime).name),
        selinux: security.selinuxEnabled === true,
        cgroupVersion: str(host.cgroupVersion),
        rootless,
        imageStore: localImageStore(platform, host, obj(parsed.store)),
      },
    };
  }

  /**
   * containers/storage rewrites images.json (by atomic rename) and writes a fresh last-writer token into
   * images.lock on every change of the store, tags included; that token is how podman itself tells
   * that its in-memory image list is out of date. The stamp is both, read from disk.
   */
  override imageStoreStamp(): string | null {
    const dir = this.options.imageStore;
    if (!dir) return null;
    try {
      const file = statSync(join(dir, "images.json"), { bigint: true });
      const token = readFileSync(join(dir, "images.lock")).toString("hex");
      return `${file.dev}:${file.ino}:${file.size}:${file.mtimeNs}:${file.ctimeNs}:${token}`;
    } catch {
      return null;
    }
  }

  protected extraRunFlags(_spec: RunSpec): string[] {
    const flags = ["--read-only-tmpfs=false", "--security-opt=mask=/dev/mqueue"];
    if (this.options.ociRuntime) flags.push(`--runtime=${this.options.ociRuntime}`);
    if (this.options.rootless) flags.push("--userns=keep-id");
    return flags;
  }

  /** Podman refuses uid=/gid= on a tmpfs; U chowns it to the container's user (keep-id mapped when rootless). */
  protected override tmpfsOwner(_spec: RunSpec): string {
    return "U";
  }

  override runArgs(spec: RunSpec): string[] {
    const args = super.runArgs(spec);
    if (!this.options.selinux) return args;
    return args.map((a) => (a.startsWith("type=bind,") ? `${a},relabel=private` : a));
  }

  /** Podman's `rm --force` would first wait the stop timeout (10 s) on a running container. */
  protected override removeFlags(): string[] {
    return ["--force", "--time=0"];
  }

  protected listFormatArgs(): string[] {
    return ["--format", "json"];
  }

  protected imageLabelsFormat(): string {
    return "{{json .Labels}}";
  }
}

function localImageStore(
  platform: NodeJS.Platform,
  host: Record<string, unknown>,
  store: Record<string, unknown>,
): string | null {
  if (platform !== "linux" || host.serviceIsRemote !== false) return null;
  const options = Object.keys(obj(store.graphOptions)).join(" ").toLowerCase();
  if (options.includes("imagestore")) return null;
  const root = str(store.graphRoot);
  const driver = str(store.graphDriverName);
  return root.startsWith("/") && /^[a-z0-9]+$/.test(driver) ? join(root, `${driver}-images`) : null;
}
