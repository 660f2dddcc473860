/**
 * The contract every container runtime adapter fulfils (Podman, Docker, Apple `container`, and the
 * mock used by unit tests). Adapters drive the runtime's CLI through an injectable Exec; nothing here
 * talks to a runtime SDK.
 */
import type { ChildProcess } from "./exec.ts";

export type RuntimeName = "podman" | "docker" | "apple" | "mock";
export type IsolationLevel = "vm" | "namespace" | "rootless-namespace";

export interface BindMount {
  /** Absolute host path; must exist. */
  source: string;
  /** Absolute path inside the container. */
  target: string;
  readonly: boolean;
}

/** A memory-backed mount owned by the container's user: nothing written there reaches the host's disk. */
export interface TmpfsMount {
  /** Absolute path inside the container. */
  target: string;
  sizeBytes: number;
  /** Permission bits of its root directory, e.g. 0o700. */
  mode: number;
}

export interface ResourceLimits {
  memoryBytes: number;
  pids: number;
  nofile: number;
  nproc: number;
}

/** Everything needed to start one container. Security fields are explicit so no adapter can forget one. */
export interface RunSpec {
  name: string;
  image: string;
  /** Arguments after the image (passed to the image's entrypoint). */
  args: string[];
  labels: Record<string, string>;
  mounts: BindMount[];
  /** Mounted noexec, nosuid, nodev; only a pre-started container has one (its session token). */
  tmpfs?: TmpfsMount[];
  /** Non-secret environment only; secrets travel on stdin. */
  env: Record<string, string>;
  /** "uid:gid" */
  user: string;
  workdir?: string;
  network: "none";
  readOnlyRoot: true;
  dropAllCapabilities: true;
  noNewPrivileges: true;
  limits: ResourceLimits;
}

export interface ContainerSummary {
  id: string;
  name: string;
  labels: Record<string, string>;
  running: boolean;
}

export interface ContainerDetails extends ContainerSummary {
  image: string;
  /** The process argv as the runtime recorded it (entrypoint + command). */
  argv: string[];
  /** "NAME=value" entries as the runtime recorded them. */
  env: string[];
  exitCode: number | null;
}

export interface RuntimeInfo {
  name: RuntimeName;
  version: string;
  rootless: boolean;
  isolation: IsolationLevel;
  /** False when the runtime would silently drop memory/pids limits (rootless Podman on cgroup v1). */
  enforcesLimits: boolean;
  /** "v1" | "v2" | "" when the runtime does not say. */
  cgroupVersion: string;
}

export interface ImageBuildOptions {
  contextDir: string;
  /** Path of the Containerfile, relative to contextDir or absolute. */
  containerfile: string;
  tag: string;
  buildArgs: Record<string, string>;
  labels?: Record<string, string>;
}

export interface ContainerRuntime {
  readonly name: RuntimeName;
  /** True when the CLI is installed and its engine answers. Never throws. */
  isAvailable(): Promise<boolean>;
  version(): Promise<string>;
  info(): Promise<RuntimeInfo>;
  /** The CLI arguments `spawn` would use; pure, so lockdown flags can be asserted without a runtime. */
  runArgs(spec: RunSpec): string[];
  /** Starts the container attached: stdin open, output streamed, the child exits with the container. */
  spawn(spec: RunSpec): ChildProcess;
  /** Graceful stop: SIGTERM, then the runtime kills after timeoutSeconds. */
  stop(name: string, timeoutSeconds: number): Promise<void>;
  kill(name: string): Promise<void>;
  /** Removes the container (forcefully); a missing container is not an error. */
  remove(name: string): Promise<void>;
  listByLabel(label: string, value?: string): Promise<ContainerSummary[]>;
  inspect(name: string): Promise<ContainerDetails | null>;
  imageExists(ref: string): Promise<boolean>;
  /** The image's immutable id/digest (`sha256:…`), or null when the image does not exist. */
  imageId(ref: string): Promise<string | null>;
  /** The image's labels, or null when the image does not exist. */
  imageLabels(ref: string): Promise<Record<string, string> | null>;
  /** imageId and imageLabels of the same image, from one look at it where the runtime allows. */
  image(ref: string): Promise<{ id: string; labels: Record<string, string> } | null>;
  /**
   * A value that changes whenever the local image store changes (an image built, pulled, removed, tagged
   * or untagged), read without running the CLI; null when this runtime cannot say.
   */
  imageStoreStamp(): string | null;
  /** Builds an image, delivering the build log line by line. */
  build(options: ImageBuildOptions, onLine?: (line: string) => void): Promise<void>;
}
