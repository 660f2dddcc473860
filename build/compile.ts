/**
 * `bun run build`: compiles the two self-contained executables into dist/ (git-ignored).
 * The Workers (the poller, the audit's commit thread) must be extra entry points or the binary hangs.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { prepareLibzmq } from "./prepare-libzmq.ts";
import { writeSdkArtifacts } from "./sdk-dts.ts";

const root = join(import.meta.dir, "..");
const worker = join(root, "src/transport/poller-worker.ts");
const auditWorker = join(root, "src/core/response/audit-syncer-worker.ts");

/**
 * The executables run only the code compiled into them: no bunfig.toml (its `preload` runs scripts), .env,
 * tsconfig.json or package.json is read from the working directory at run time (the agent writes
 * /workspace). BUN_BE_BUN and BUN_OPTIONS have no build-time switch; see src/ipc/environment.ts.
 */
export const LOCKED_RUNTIME = [
  "--no-compile-autoload-bunfig",
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-tsconfig",
  "--no-compile-autoload-package-json",
] as const;

export interface CompileOptions {
  target?: string;
  outDir?: string;
  suffix?: string;
  /** `bun build --define` pairs (values are JS expressions, e.g. JSON strings); used by build/release. */
  define?: Record<string, string>;
}

export async function compileBinaries(options: CompileOptions = {}): Promise<{ carapace: string; ipc: string }> {
  const outDir = options.outDir ?? join(root, "dist");
  mkdirSync(outDir, { recursive: true });
  const arch = options.target?.includes("arm64") ? "arm64" : "x64";
  const os = options.target?.includes("darwin") ? "darwin" : "linux";
  prepareLibzmq(arch, os);
  await writeSdkArtifacts();
  const suffix = options.suffix ?? "";
  const outputs = {
    carapace: join(outDir, `carapace${suffix}`),
    ipc: join(outDir, `ipc${suffix}`),
  };
  const builds: [string, string, string[]][] = [
    [join(root, "src/main.ts"), outputs.carapace, [worker, auditWorker]],
    [join(root, "src/ipc/main.ts"), outputs.ipc, [worker]],
  ];
  for (const [entry, outfile, workers] of builds) {
    const args = [
      "build",
      "--compile",
      ...LOCKED_RUNTIME,
      "--minify",
      "--bytecode",
      "--format=esm",
      entry,
      ...workers,
      "--outfile",
      outfile,
    ];
    if (options.target) args.push(`--target=${options.target}`);
    for (const [name, value] of Object.entries(options.define ?? {})) args.push("--define", `${name}=${value}`);
    const proc = Bun.spawnSync([process.execPath, ...args], { cwd: root, stdout: "pipe", stderr: "pipe" });
    if (proc.exitCode !== 0) {
      throw new Error(
        `[BUILD] Error: compiling ${entry} failed:\n${proc.stderr.toString()}${proc.stdout.toString()}Fix: run \`bun run typecheck\` and fix what it reports.`,
      );
    }
  }
  return outputs;
}

if (import.meta.main) {
  const t0 = performance.now();
  const out = await compileBinaries();
  console.log(`built ${out.carapace} and ${out.ipc} in ${Math.round(performance.now() - t0)} ms`);
}
