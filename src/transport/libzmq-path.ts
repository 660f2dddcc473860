import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
// The libzmq inside the zeromq package's prebuilt addon (it exports the whole C API). build/compile.ts
// copies it to this .so name so the compiled binaries embed it.
import embeddedLib from "../../build/.generated/libzmq.so" with { type: "file" };

/** Where the libzmq shared object was loaded from; reported by `doctor`. */
export interface LibzmqLocation {
  path: string;
  origin: "env" | "beside-executable" | "embedded" | "cache";
}

/**
 * Candidates in order: CARAPACE_LIBZMQ, a `libzmq.so` beside the executable (the agent image ships one at
 * a fixed path), the embedded copy (Bun extracts it to $TMPDIR), then a copy in a cache dir under
 * $CARAPACE_HOME for machines whose $TMPDIR is mounted noexec.
 */
export function libzmqCandidates(): LibzmqLocation[] {
  const out: LibzmqLocation[] = [];
  const fromEnv = process.env.CARAPACE_LIBZMQ;
  if (fromEnv) out.push({ path: fromEnv, origin: "env" });
  const beside = join(dirname(process.execPath), "libzmq.so");
  if (existsSync(beside)) out.push({ path: beside, origin: "beside-executable" });
  out.push({ path: embeddedLib, origin: "embedded" });
  return out;
}

export function cacheCopyOfEmbedded(): LibzmqLocation {
  const home = process.env.CARAPACE_HOME || join(process.env.HOME || "/tmp", ".carapace");
  const dir = join(home, "cache");
  const bytes = readFileSync(embeddedLib);
  const target = join(dir, `libzmq-${Bun.hash(bytes).toString(16)}.so`);
  if (!existsSync(target) || statSync(target).size !== bytes.length) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // copyFile cannot read from the compiled binary's embedded filesystem; write the bytes instead.
    const tmp = `${target}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes, { mode: 0o700 });
    renameSync(tmp, target);
  }
  return { path: target, origin: "cache" };
}
