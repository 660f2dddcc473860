/**
 * Shared driver for the Docker-compatible CLIs (Podman and Docker). Subclasses supply the
 * runtime-specific pieces: flags, output formats and how the engine reports itself.
 */
import { ContainerError } from "../errors.ts";
import type { ChildProcess, Exec, ExecResult } from "../exec.ts";
import type {
  ContainerDetails,
  ContainerRuntime,
  ContainerSummary,
  ImageBuildOptions,
  RunSpec,
  RuntimeInfo,
  RuntimeName,
} from "../runtime.ts";
import { labelMap, obj, parseJsonRecords, str, strList } from "./parse.ts";

/**
 * Commands that only query the engine must answer in bounded time, or a hung engine would stall start-up.
 * Not tighter: on a busy 2-core host `podman version` alone has taken over 1.5 s, and a healthy runtime
 * reported as missing is worse than a slow answer.
 */
export const QUERY_TIMEOUT_MS = 10_000;
const CONTROL_TIMEOUT_MS = 60_000;

export abstract class OciCliRuntime implements ContainerRuntime {
  abstract readonly name: RuntimeName;

  constructor(
    protected readonly exec: Exec,
    protected readonly binary: string,
  ) {}

  abstract version(): Promise<string>;
  abstract info(): Promise<RuntimeInfo>;
  /** Runtime-specific hardening flags added after the common ones. */
  protected abstract extraRunFlags(spec: RunSpec): string[];
  /** The tmpfs mount option that makes the container's user its owner. */
  protected tmpfsOwner(spec: RunSpec): string {
    const [uid, gid] = spec.user.split(":");
    return `uid=${uid},gid=${gid ?? uid}`;
  }
  protected abstract listFormatArgs(): string[];
  protected abstract imageLabelsFormat(): string;

  /** Forced removal; it kills a running container outright. */
  protected removeFlags(): string[] {
    return ["--force"];
  }

  async isAvailable(): Promise<boolean> {
    try {
      await this.version();
      return true;
    } catch {
      return false;
    }
  }

  runArgs(spec: RunSpec): string[] {
    // Never pull at spawn time: images are built locally and checked at start-up.
    const args = ["run", "--interactive", "--pull=never", "--name", spec.name];
    if (spec.readOnlyRoot) args.push("--read-only");
    args.push(`--network=${spec.network}`);
    if (spec.dropAllCapabilities) args.push("--cap-drop=ALL");
    if (spec.noNewPrivileges) args.push("--security-opt=no-new-privileges");
    args.push("--ipc=none");
    args.push("--user", spec.user);
    const { limits } = spec;
    args.push(`--pids-limit=${limits.pids}`, `--memory=${limits.memoryBytes}`, `--memory-swap=${limits.memoryBytes}`);
    args.push(
      "--ulimit",
      `nofile=${limits.nofile}:${limits.nofile}`,
      "--ulimit",
      `nproc=${limits.nproc}:${limits.nproc}`,
    );
    args.push(...this.extraRunFlags(spec));
    for (const [k, v] of Object.entries(spec.labels)) args.push("--label", `${k}=${v}`);
    for (const m of spec.mounts) {
      args.push("--mount", `type=bind,source=${m.source},target=${m.target}${m.readonly ? ",readonly" : ""}`);
    }
    for (const t of spec.tmpfs ?? []) {
      const mode = t.mode.toString(8).padStart(4, "0");
      args.push(
        "--tmpfs",
        `${t.target}:rw,noexec,nosuid,nodev,size=${t.sizeBytes},mode=${mode},${this.tmpfsOwner(spec)}`,
      );
    }
    for (const [k, v] of Object.entries(spec.env)) args.push("--env", `${k}=${v}`);
    if (spec.workdir) args.push("--workdir", spec.workdir);
    args.push(spec.image, ...spec.args);
    return args;
  }

  spawn(spec: RunSpec): ChildProcess {
    return this.exec.spawn([this.binary, ...this.runArgs(spec)]);
  }

  async stop(name: string, timeoutSeconds: number): Promise<void> {
    const r = await this.cli(["stop", "-t", String(timeoutSeconds), name], (timeoutSeconds + 30) * 1000);
    if (r.code !== 0 && !isMissing(r)) throw this.failure(`stop ${name}`, r);
  }

  async kill(name: string): Promise<void> {
    const r = await this.cli(["kill", name]);
    if (r.code !== 0 && !isMissing(r) && !isNotRunning(r)) throw this.failure(`kill ${name}`, r);
  }

  async remove(name: string): Promise<void> {
    const r = await this.cli(["rm", ...this.removeFlags(), name]);
    if (r.code !== 0 && !isMissing(r)) throw this.failure(`rm ${name}`, r);
  }

  async listByLabel(label: string, value?: string): Promise<ContainerSummary[]> {
    const filter = value === undefined ? label : `${label}=${value}`;
    const r = await this.cli(["ps", "--all", "--filter", `label=${filter}`, ...this.listFormatArgs()]);
    if (r.code !== 0) throw this.failure("ps", r);
    return parseJsonRecords(r.stdout).map((c) => ({
      id: str(c.Id) || str(c.ID),
      name: strList(c.Names)[0] ?? "",
      labels: labelMap(c.Labels),
      running: str(c.State).toLowerCase() === "running",
    }));
  }

  async inspect(name: string): Promise<ContainerDetails | null> {
    const r = await this.cli(["container", "inspect", name]);
    if (r.code !== 0) {
      if (isMissing(r)) return null;
      throw this.failure(`inspect ${name}`, r);
    }
    const record = parseJsonRecords(r.stdout)[0];
    if (!record) return null;
    const config = obj(record.Config);
    const state = obj(record.State);
    const running = state.Running === true;
    return {
      id: str(record.Id),
      name: str(record.Name).replace(/^\//, ""),
      labels: labelMap(config.Labels),
      running,
      image: str(config.Image) || str(record.ImageName),
      argv: [str(record.Path), ...strList(record.Args)].filter(Boolean),
      env: strList(config.Env),
      exitCode: running || typeof state.ExitCode !== "number" ? null : state.ExitCode,
    };
  }

  async imageExists(ref: string): Promise<boolean> {
    return (await this.cli(["image", "inspect", "--format", "{{.Id}}", ref])).code === 0;
  }

  async imageId(ref: string): Promise<string | null> {
    const r = await this.cli(["image", "inspect", "--format", "{{.Id}}", ref]);
    const id = r.stdout.trim();
    if (r.code !== 0 || !id) return null;
    return imageIdOf(id);
  }

  async imageLabels(ref: string): Promise<Record<string, string> | null> {
    const r = await this.cli(["image", "inspect", "--format", this.imageLabelsFormat(), ref]);
    if (r.code !== 0) return null;
    return imageLabelsOf(r.stdout.trim());
  }

  async image(ref: string): Promise<{ id: string; labels: Record<string, string> } | null> {
    const r = await this.cli(["image", "inspect", "--format", `{{.Id}} ${this.imageLabelsFormat()}`, ref]);
    const text = r.stdout.trim();
    const space = text.indexOf(" ");
    if (r.code !== 0 || space <= 0) return null;
    return { id: imageIdOf(text.slice(0, space)), labels: imageLabelsOf(text.slice(space + 1).trim()) };
  }

  /** Docker keeps its images behind its daemon: nothing on disk says when they change. */
  imageStoreStamp(): string | null {
    return null;
  }

  async build(options: ImageBuildOptions, onLine: (line: string) => void = () => {}): Promise<void> {
    // The recipe's RUN steps only copy files: no network, so no network backend is involved either.
    const args = ["build", "--network", "none", "--file", options.containerfile, "--tag", options.tag];
    for (const [k, v] of Object.entries(options.buildArgs)) args.push("--build-arg", `${k}=${v}`);
    for (const [k, v] of Object.entries(options.labels ?? {})) args.push("--label", `${k}=${v}`);
    args.push(options.contextDir);
    const child = this.exec.spawn([this.binary, ...args]);
    child.closeStdin();
    const tail: string[] = [];
    const lines = lineSplitter((line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      onLine(line);
    });
    child.onStdout(lines.push);
    child.onStderr(lines.push);
    const code = await child.exited;
    lines.flush();
    if (code !== 0) {
      throw new ContainerError(
        `${this.binary} build of ${options.tag} failed (exit ${code}): ${tail.slice(-5).join(" | ")}`,
        "read the build output above; check that the base image exists and the build context is complete",
      );
    }
  }

  protected async cli(args: string[], timeoutMs = CONTROL_TIMEOUT_MS): Promise<ExecResult> {
    return await this.exec.run([this.binary, ...args], { timeoutMs });
  }

  protected failure(what: string, r: ExecResult): ContainerError {
    const detail = (r.stderr || r.stdout).trim().split("\n").slice(-3).join(" ");
    return new ContainerError(
      `\`${this.binary} ${what}\` failed (exit ${r.code}): ${detail}`,
      `check that ${this.binary} works (\`${this.binary} info\`)`,
    );
  }
}

function isMissing(r: ExecResult): boolean {
  return /no such (container|object)|no container with name or id/i.test(r.stderr);
}

function isNotRunning(r: ExecResult): boolean {
  return /is not running|not running|container state improper/i.test(r.stderr);
}

/** Re-chunks streamed output into whole lines. */
export function lineSplitter(emit: (line: string) => void): { push: (chunk: string) => void; flush: () => void } {
  let buffer = "";
  return {
    push(chunk) {
      buffer += chunk;
      let nl = buffer.indexOf("\n");
      while (nl >= 0) {
        emit(buffer.slice(0, nl).replace(/\r$/, ""));
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf("\n");
      }
    },
    flush() {
      if (buffer) emit(buffer);
      buffer = "";
    },
  };
}

/** An image id as `inspect --format {{.Id}}` printed it, with the `sha256:` prefix some engines omit. */
function imageIdOf(printed: string): string {
  return printed.startsWith("sha256:") ? printed : `sha256:${printed}`;
}

/** An image's labels as its labels format printed them (`null`, or nothing, for none). */
function imageLabelsOf(printed: string): Record<string, string> {
  return printed === "null" || !printed ? {} : labelMap(JSON.parse(printed));
}
