/**
 * An in-memory ContainerRuntime for unit tests of code around containers (lifecycle, sessions).
 * Each spawn follows a scenario: a normal run, a spawn failure, a crash, or a hang (optionally one
 * that ignores `stop`, so callers must escalate to `kill`). Every container is tracked so tests can
 * assert that nothing leaked.
 */
import type { ChildProcess } from "../exec.ts";
import type {
  ContainerDetails,
  ContainerRuntime,
  ContainerSummary,
  ImageBuildOptions,
  RunSpec,
  RuntimeInfo,
} from "../runtime.ts";

export type MockScenario =
  | { kind: "run"; stdout?: string[]; stderr?: string[]; code?: number; afterMs?: number }
  | { kind: "spawn-failure"; message?: string }
  | { kind: "crash"; code?: number; stderr?: string; afterMs?: number }
  | { kind: "hang"; ignoreStop?: boolean };

export interface MockContainer {
  spec: RunSpec;
  running: boolean;
  removed: boolean;
  stdin: string;
  stdinClosed: boolean;
  exitCode: number | null;
}

export interface MockRuntimeOptions {
  /** Scenario per spawn; default a normal run that exits 0. */
  scenario?: (spec: RunSpec) => MockScenario;
  /** Milliseconds per "second" of a stop timeout, so tests stay fast. */
  msPerSecond?: number;
  images?: Record<string, Record<string, string>>;
}

export class MockRuntime implements ContainerRuntime {
  readonly name = "mock" as const;
  readonly containers = new Map<string, MockContainer>();
  readonly calls: string[] = [];
  readonly images: Map<string, Record<string, string>>;
  /** How many times the labels of an image were asked for. */
  labelLookups = 0;
  private readonly finishers = new Map<string, (code: number) => void>();
  private readonly ignoresStop = new Set<string>();
  private readonly scenario: (spec: RunSpec) => MockScenario;
  private readonly msPerSecond: number;

  constructor(options: MockRuntimeOptions = {}) {
    this.scenario = options.scenario ?? (() => ({ kind: "run" }));
    this.msPerSecond = options.msPerSecond ?? 5;
    this.images = new Map(Object.entries(options.images ?? {}));
  }

  /** Containers that were created and never removed. */
  leaked(): string[] {
    return [...this.containers.entries()].filter(([, c]) => !c.removed).map(([n]) => n);
  }

  /** Simulates a container left running by a crashed host. */
  addOrphan(name: string, labels: Record<string, string>): void {
    this.containers.set(name, {
      spec: { name, labels } as RunSpec,
      running: true,
      removed: false,
      stdin: "",
      stdinClosed: true,
      exitCode: null,
    });
  }

  async isAvailable(): Promise<boolean> {
    return true;
  }

  async version(): Promise<string> {
    return "0.0.0-mock";
  }

  async info(): Promise<RuntimeInfo> {
    return {
      name: "mock",
      version: "0.0.0-mock",
      rootless: false,
      isolation: "namespace",
      enforcesLimits: true,
      cgroupVersion: "v2",
    };
  }

  runArgs(spec: RunSpec): string[] {
    return ["run", "--name", spec.name, spec.image, ...spec.args];
  }

  spawn(spec: RunSpec): ChildProcess {
    this.calls.push(`spawn ${spec.name}`);
    const scenario = this.scenario(spec);
    const out: ((c: string) => void)[] = [];
    const err: ((c: string) => void)[] = [];
    const emit = (ls: ((c: string) => void)[], chunks: string[]) => {
      for (const c of chunks) for (const l of ls) l(c);
    };
    let finish: (code: number) => void = () => {};
    const exited = new Promise<number>((resolve) => {
      finish = resolve;
    });
    const record: MockContainer = {
      spec,
      running: false,
      removed: false,
      stdin: "",
      stdinClosed: false,
      exitCode: null,
    };
    const end = (code: number) => {
      record.running = false;
      record.exitCode = code;
      this.finishers.delete(spec.name);
      finish(code);
    };
    const later = (ms: number, fn: () => void) => setTimeout(fn, ms);

    if (scenario.kind === "spawn-failure") {
      later(0, () => {
        emit(err, [`Error: ${scenario.message ?? "image not known"}\n`]);
        finish(125);
      });
    } else {
      this.containers.set(spec.name, record);
      record.running = true;
      this.finishers.set(spec.name, end);
      if (scenario.kind === "run") {
        later(scenario.afterMs ?? 0, () => {
          emit(out, scenario.stdout ?? []);
          emit(err, scenario.stderr ?? []);
          end(scenario.code ?? 0);
        });
      } else if (scenario.kind === "crash") {
        later(scenario.afterMs ?? 0, () => {
          emit(err, [scenario.stderr ?? "panic: agent crashed\n"]);
          end(scenario.code ?? 139);
        });
      } else if (scenario.ignoreStop) {
        this.ignoresStop.add(spec.name);
      }
    }
    return {
      pid: undefined,
      write(data) {
        if (!record.stdinClosed) record.stdin += typeof data === "string" ? data : new TextDecoder().decode(data);
      },
      closeStdin() {
        record.stdinClosed = true;
      },
      onStdout: (l) => out.push(l),
      onStderr: (l) => err.push(l),
      exited,
      kill: () => end(137),
    };
  }

  async stop(name: string, timeoutSeconds: number): Promise<void> {
    this.calls.push(`stop ${name} ${timeoutSeconds}`);
    const finish = this.finishers.get(name);
    if (!finish) return;
    if (this.ignoresStop.has(name)) {
      await Bun.sleep(timeoutSeconds * this.msPerSecond);
      return;
    }
    finish(143);
  }

  async kill(name: string): Promise<void> {
    this.calls.push(`kill ${name}`);
    this.finishers.get(name)?.(137);
  }

  async remove(name: string): Promise<void> {
    this.calls.push(`remove ${name}`);
    const c = this.containers.get(name);
    if (!c) return;
    this.finishers.get(name)?.(137);
    c.running = false;
    c.removed = true;
  }

  async listByLabel(label: string, value?: string): Promise<ContainerSummary[]> {
    return [...this.containers.entries()]
      .filter(([, c]) => !c.removed && (value === undefined ? label in c.spec.labels : c.spec.labels[label] === value))
      .map(([name, c]) => ({ id: name, name, labels: { ...c.spec.labels }, running: c.running }));
  }

  async inspect(name: string): Promise<ContainerDetails | null> {
    const c = this.containers.get(name);
    if (!c || c.removed) return null;
    return {
      id: name,
      name,
      labels: { ...c.spec.labels },
      running: c.running,
      image: c.spec.image,
      argv: [...(c.spec.args ?? [])],
      env: Object.entries(c.spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
      exitCode: c.exitCode,
    };
  }

  async imageExists(ref: string): Promise<boolean> {
    return this.images.has(ref);
  }

  async imageId(ref: string): Promise<string | null> {
    return this.images.has(ref) ? mockImageId(ref, this.images.get(ref)) : null;
  }

  /** By tag, or by the id imageId gave (as a real runtime answers both). */
  async imageLabels(ref: string): Promise<Record<string, string> | null> {
    this.labelLookups++;
    const byTag = this.images.get(ref);
    if (byTag) return byTag;
    for (const [tag, labels] of this.images) if (mockImageId(tag, labels) === ref) return labels;
    return null;
  }

  /** Off by default (as for Docker); a test that wants the store watched sets `stampsImages`. */
  stampsImages = false;

  /** One look, as a real runtime's one inspect (through imageId, so a test's override of it applies). */
  async image(ref: string): Promise<{ id: string; labels: Record<string, string> } | null> {
    const id = await this.imageId(ref);
    const labels = id === null ? undefined : this.images.get(ref);
    return id === null || labels === undefined ? null : { id, labels };
  }

  imageStoreStamp(): string | null {
    return this.stampsImages ? String(Bun.hash(JSON.stringify([...this.images]))) : null;
  }

  async build(options: ImageBuildOptions, onLine: (line: string) => void = () => {}): Promise<void> {
    onLine(`STEP 1/1: FROM ${options.buildArgs.BASE_IMAGE ?? "scratch"}`);
    this.images.set(options.tag, { ...(options.labels ?? {}) });
  }
}

/** A mock image's id: a digest of its tag and labels, so relabelling (a rebuild) gives another id. */
function mockImageId(tag: string, labels: Record<string, string> | undefined): string {
  return `sha256:${Bun.hash(JSON.stringify([tag, labels])).toString(16)}`;
}
