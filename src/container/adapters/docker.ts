/**
 * Docker adapter: the reference Docker-compatible CLI. `--read-only` already covers /tmp here. Docker
 * has no `mask=` security option and mounts a writable mqueue filesystem at /dev/mqueue even with
 * `--ipc=none`, so an empty read-only tmpfs replaces it (a user mount displaces the default one).
 */
import { bunExec, type Exec } from "../exec.ts";
import type { IsolationLevel, RunSpec, RuntimeInfo } from "../runtime.ts";
import { OciCliRuntime, QUERY_TIMEOUT_MS } from "./oci-cli.ts";
import { obj, parseJson, str, strList } from "./parse.ts";

const READ_ONLY_MQUEUE = "type=tmpfs,target=/dev/mqueue,readonly,tmpfs-size=4096";

export interface DockerOptions {
  exec?: Exec;
  binary?: string;
  /** The platform the CLI runs on; Docker Desktop on macOS/Windows runs containers in a VM. */
  platform?: NodeJS.Platform;
}

export class DockerRuntime extends OciCliRuntime {
  readonly name = "docker" as const;
  private readonly platform: NodeJS.Platform;

  constructor(options: DockerOptions = {}) {
    super(options.exec ?? bunExec, options.binary ?? "docker");
    this.platform = options.platform ?? process.platform;
  }

  /** The server version: a CLI without a reachable daemon is not an available runtime. */
  async version(): Promise<string> {
    const r = await this.cli(["version", "--format", "{{.Server.Version}}"], QUERY_TIMEOUT_MS);
    const v = r.stdout.trim();
    if (r.code !== 0 || !v) throw this.failure("version", r);
    return v;
  }

  async info(): Promise<RuntimeInfo> {
    const r = await this.cli(["info", "--format", "{{json .}}"], 5000);
    const info = obj(parseJson(r.stdout));
    if (r.code !== 0 || !info.ServerVersion) throw this.failure("info", r);
    const rootless = strList(info.SecurityOptions).some((o) => o.includes("name=rootless"));
    const isolation: IsolationLevel = this.platform !== "linux" ? "vm" : rootless ? "rootless-namespace" : "namespace";
    const cgroupVersion = str(info.CgroupVersion) ? `v${str(info.CgroupVersion)}` : "";
    return {
      name: "docker",
      version: str(info.ServerVersion),
      rootless,
      isolation,
      enforcesLimits: info.MemoryLimit !== false && info.PidsLimit !== false,
      cgroupVersion,
    };
  }

  protected extraRunFlags(_spec: RunSpec): string[] {
    return ["--mount", READ_ONLY_MQUEUE];
  }

  protected listFormatArgs(): string[] {
    return ["--format", "{{json .}}", "--no-trunc"];
  }

  protected imageLabelsFormat(): string {
    return "{{json .Config.Labels}}";
  }
}
