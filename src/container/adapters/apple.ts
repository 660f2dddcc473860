/**
 * Apple `container` adapter (experimental; macOS 26+ on Apple silicon). Every container is its own
 * lightweight VM, so isolation is "vm" and the root filesystem, memory and process count are bounded
 * by that VM rather than by cgroups (`--pids-limit`/`--ulimit` have no equivalent and are not passed).
 * Differences from Podman/Docker:
 * - Unix sockets do not cross the VM boundary through a plain bind mount. A host-listening socket is
 *   carried over vsock; the CLI's `--publish-socket` covers the opposite direction (container listens),
 *   so the host core must relay the session socket until the CLI offers host→guest sockets.
 * - The CLI's JSON puts the container description under `configuration` (id, labels, image,
 *   initProcess) with a top-level `status`.
 * The API surface may change with macOS releases; the contract test pins the argv this adapter emits.
 */
import { ContainerError } from "../errors.ts";
import { bunExec, type ChildProcess, type Exec, type ExecResult } from "../exec.ts";
import type {
  ContainerDetails,
  ContainerRuntime,
  ContainerSummary,
  ImageBuildOptions,
  RunSpec,
  RuntimeInfo,
} from "../runtime.ts";
import { lineSplitter, QUERY_TIMEOUT_MS } from "./oci-cli.ts";
import { type Json, labelMap, obj, parseJsonRecords, str, strList } from "./parse.ts";

export interface AppleOptions {
  exec?: Exec;
  binary?: string;
}

export class AppleContainerRuntime implements ContainerRuntime {
  readonly name = "apple" as const;
  private readonly exec: Exec;
  private readonly binary: string;

  constructor(options: AppleOptions = {}) {
    this.exec = options.exec ?? bunExec;
    this.binary = options.binary ?? "container";
  }

  async isAvailable(): Promise<boolean> {
    try {
      await this.version();
      const status = await this.cli(["system", "status"], QUERY_TIMEOUT_MS);
      return status.code === 0;
    } catch {
      return false;
    }
  }

  async version(): Promise<string> {
    const r = await this.cli(["--version"], QUERY_TIMEOUT_MS);
    const match = /(\d+\.\d+(?:\.\d+)?)/.exec(r.stdout);
    if (r.code !== 0 || !match?.[1]) throw this.failure("--version", r);
    return match[1];
  }

  async info(): Promise<RuntimeInfo> {
    return {
      name: "apple",
      version: await this.version(),
      rootless: true,
      isolation: "vm",
      enforcesLimits: true,
      cgroupVersion: "",
    };
  }

  runArgs(spec: RunSpec): string[] {
    if (spec.tmpfs?.length) {
      // Its --tmpfs takes no owner or mode: the session token would sit in a directory the agent user cannot own.
      throw new ContainerError(
        "the Apple container runtime cannot mount a tmpfs owned by the agent user",
        "turn `[runtime] prestart` off on this runtime; sessions run cold",
      );
    }
    const args = ["run", "--interactive", "--name", spec.name];
    if (spec.readOnlyRoot) args.push("--read-only");
    args.push("--network", spec.network);
    if (spec.dropAllCapabilities) args.push("--cap-drop", "ALL");
    args.push("--user", spec.user);
    args.push("--memory", `${Math.max(1, Math.floor(spec.limits.memoryBytes / (1024 * 1024)))}M`);
    for (const [k, v] of Object.entries(spec.labels)) args.push("--label", `${k}=${v}`);
    for (const m of spec.mounts) {
      args.push("--mount", `type=bind,source=${m.source},target=${m.target}${m.readonly ? ",readonly" : ""}`);
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
    const r = await this.cli(["stop", "--time", String(timeoutSeconds), name], (timeoutSeconds + 30) * 1000);
    if (r.code !== 0 && !isMissing(r)) throw this.failure(`stop ${name}`, r);
  }

  async kill(name: string): Promise<void> {
    const r = await this.cli(["kill", name]);
    if (r.code !== 0 && !isMissing(r)) throw this.failure(`kill ${name}`, r);
  }

  async remove(name: string): Promise<void> {
    const r = await this.cli(["delete", "--force", name]);
    if (r.code !== 0 && !isMissing(r)) throw this.failure(`delete ${name}`, r);
  }

  async listByLabel(label: string, value?: string): Promise<ContainerSummary[]> {
    const r = await this.cli(["list", "--all", "--format", "json"]);
    if (r.code !== 0) throw this.failure("list", r);
    return parseJsonRecords(r.stdout)
      .map(summary)
      .filter((c) => (value === undefined ? label in c.labels : c.labels[label] === value));
  }

  async inspect(name: string): Promise<ContainerDetails | null> {
    const r = await this.cli(["inspect", name]);
    if (r.code !== 0) {
      if (isMissing(r)) return null;
      throw this.failure(`inspect ${name}`, r);
    }
    const record = parseJsonRecords(r.stdout)[0];
    if (!record) return null;
    const config = obj(record.configuration);
    const init = obj(config.initProcess);
    return {
      ...summary(record),
      image: str(obj(config.image).reference),
      argv: [str(init.executable), ...strList(init.arguments)].filter(Boolean),
      env: strList(init.environment),
      exitCode: null,
    };
  }

  async imageExists(ref: string): Promise<boolean> {
    return (await this.cli(["image", "inspect", ref])).code === 0;
  }

  async imageId(ref: string): Promise<string | null> {
    const r = await this.cli(["image", "inspect", ref]);
    if (r.code !== 0) return null;
    return digestOf(parseJsonRecords(r.stdout)[0]);
  }

  async imageLabels(ref: string): Promise<Record<string, string> | null> {
    const r = await this.cli(["image", "inspect", ref]);
    if (r.code !== 0) return null;
    return labelsOf(parseJsonRecords(r.stdout)[0]);
  }

  /** Digest and labels from the same inspect, so both describe the same image. */
  async image(ref: string): Promise<{ id: string; labels: Record<string, string> } | null> {
    const r = await this.cli(["image", "inspect", ref]);
    if (r.code !== 0) return null;
    const record = parseJsonRecords(r.stdout)[0];
    const digest = digestOf(record);
    return digest === null ? null : { id: digest, labels: labelsOf(record) };
  }

  imageStoreStamp(): string | null {
    return null;
  }

  async build(options: ImageBuildOptions, onLine: (line: string) => void = () => {}): Promise<void> {
    const args = ["build", "--file", options.containerfile, "--tag", options.tag];
    for (const [k, v] of Object.entries(options.buildArgs)) args.push("--build-arg", `${k}=${v}`);
    for (const [k, v] of Object.entries(options.labels ?? {})) args.push("--label", `${k}=${v}`);
    args.push(options.contextDir);
    const child = this.exec.spawn([this.binary, ...args]);
    child.closeStdin();
    const lines = lineSplitter(onLine);
    child.onStdout(lines.push);
    child.onStderr(lines.push);
    const code = await child.exited;
    lines.flush();
    if (code !== 0) {
      throw new ContainerError(
        `container build of ${options.tag} failed (exit ${code})`,
        "read the build output above",
      );
    }
  }

  private async cli(args: string[], timeoutMs = 60_000): Promise<ExecResult> {
    return await this.exec.run([this.binary, ...args], { timeoutMs });
  }

  private failure(what: string, r: ExecResult): ContainerError {
    const detail = (r.stderr || r.stdout).trim().split("\n").slice(-3).join(" ");
    return new ContainerError(
      `\`${this.binary} ${what}\` failed (exit ${r.code}): ${detail}`,
      "check that Apple's container service runs (`container system start`)",
    );
  }
}

function summary(record: Json): ContainerSummary {
  const config = obj(record.configuration);
  const id = str(config.id);
  return { id, name: id, labels: labelMap(config.labels), running: str(record.status) === "running" };
}

function isMissing(r: ExecResult): boolean {
  return /not found|no such/i.test(r.stderr);
}

function findKey(value: unknown, key: string, depth: number): unknown {
  if (depth < 0 || typeof value !== "object" || value === null) return undefined;
  if (!Array.isArray(value) && key in value) return (value as Json)[key];
  for (const child of Object.values(value)) {
    const found = findKey(child, key, depth - 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** An `image inspect` record's digest (the image id), or null when it names none. */
function digestOf(record: unknown): string | null {
  const digest = findKey(record, "digest", 4);
  return typeof digest === "string" && digest ? digest : null;
}

/** An `image inspect` record's labels: the image config (with its Labels) sits in the index's per-platform variants. */
function labelsOf(record: unknown): Record<string, string> {
  return labelMap(findKey(record, "Labels", 6));
}
