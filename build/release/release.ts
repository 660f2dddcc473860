/**
 * `bun build/release/release.ts --out <dir> --key <private-key.pem> [--targets linux-x64,…]`
 *
 * Builds one release into an empty directory: `carapace-<os>-<arch>` per target, `ipc-linux-<arch>`
 * per Linux target, `install.sh`, `VERSION`, a CycloneDX SBOM, `SHA256SUMS` over all of them, and the
 * detached Ed25519 signature `SHA256SUMS.sig`. The key must be the project key that
 * src/release/public-key.ts and install.sh pin, unless `--embed-key` is given (tests, forks): then the
 * binaries and the shipped install.sh are built to trust this key instead.
 * `--release-version X.Y.Z` stamps a version other than package.json's (tests build upgrades with it).
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pkg from "../../package.json" with { type: "json" };
import { formatChecksums, sha256Hex } from "../../src/release/checksums.ts";
import {
  carapaceArtifact,
  ipcArtifact,
  RELEASE_FILES,
  type ReleaseArch,
  type ReleaseOs,
} from "../../src/release/layout.ts";
import { RELEASE_PUBLIC_KEY } from "../../src/release/public-key.ts";
import { privateKeyFromPem, publicKeyToBase64, signDetached } from "../../src/release/signature.ts";
import { verifyReleaseIndex } from "../../src/release/verify.ts";
import { normalizeVersion } from "../../src/release/version.ts";
import { compileBinaries } from "../compile.ts";
import { prepareLibzmq } from "../prepare-libzmq.ts";
import { buildSbom } from "./sbom.ts";

const root = join(import.meta.dir, "../..");
export const ALL_TARGETS = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"] as const;
const PUBKEY_LINE = /^RELEASE_PUBKEY='([A-Za-z0-9+/=]+)'$/m;

export interface ReleaseOptions {
  outDir: string;
  privateKeyPem: string;
  targets?: readonly string[];
  embedKey?: boolean;
  version?: string;
}

export interface ReleaseResult {
  version: string;
  files: string[];
  publicKey: string;
  smoke: string[];
}

function fail(what: string, fix: string): never {
  throw new Error(`[RELEASE] Error: ${what}. Fix: ${fix}.`);
}

function parseTarget(target: string): { os: ReleaseOs; arch: ReleaseArch } {
  const [os, arch] = target.split("-");
  if ((os !== "linux" && os !== "darwin") || (arch !== "x64" && arch !== "arm64")) {
    fail(`unknown target ${target}`, `use some of ${ALL_TARGETS.join(",")}`);
  }
  return { os, arch };
}

/** The top-level install.sh, with its pinned key checked (project key) or replaced (--embed-key). */
export function installerFor(publicKey: string, embedKey: boolean): string {
  const script = readFileSync(join(root, "install.sh"), "utf8");
  const pinned = PUBKEY_LINE.exec(script)?.[1];
  if (!pinned) fail("install.sh has no RELEASE_PUBKEY='…' line", "restore it from git");
  if (embedKey) return script.replace(PUBKEY_LINE, `RELEASE_PUBKEY='${publicKey}'`);
  if (pinned !== publicKey)
    fail("install.sh pins a different key than the one signing", "pin the project key in install.sh");
  return script;
}

/** Debian's libc6-arm64-cross: the arm64 loader and libc that qemu-user needs (-L). */
const ARM64_SYSROOT = "/usr/aarch64-linux-gnu";

/**
 * Runs what this machine can run: native Linux directly, Linux arm64 under qemu-user (Debian:
 * apt-get install qemu-user libc6-arm64-cross). macOS builds cannot be run here.
 */
function smokeTest(file: string, os: ReleaseOs, arch: ReleaseArch, version: string): string {
  const name = file.slice(file.lastIndexOf("/") + 1);
  const arm64Emulated =
    Bun.which("qemu-aarch64") !== null && existsSync(join(ARM64_SYSROOT, "lib/ld-linux-aarch64.so.1"));
  let command: string[] | undefined;
  if (os === "linux" && arch === process.arch) command = [file, "--version"];
  else if (os === "linux" && arch === "arm64" && arm64Emulated) {
    command = ["qemu-aarch64", "-L", ARM64_SYSROOT, file, "--version"];
  }
  if (!command) return `${name}: not runnable here (built, not smoke-tested)`;
  const run = Bun.spawnSync(command, { stdout: "pipe", stderr: "pipe" });
  const out = run.stdout.toString().trim();
  if (run.exitCode !== 0 || out !== version) {
    fail(
      `${name} --version printed ${JSON.stringify(out)} (exit ${run.exitCode}), expected ${version}`,
      "check the build output",
    );
  }
  return `${name}: --version ok${command[0] === "qemu-aarch64" ? " (under qemu-aarch64)" : ""}`;
}

export async function buildRelease(options: ReleaseOptions): Promise<ReleaseResult> {
  const privateKey = privateKeyFromPem(options.privateKeyPem);
  const publicKey = publicKeyToBase64((await import("node:crypto")).createPublicKey(privateKey));
  const embedKey = options.embedKey === true;
  if (!embedKey && publicKey !== RELEASE_PUBLIC_KEY) {
    fail(
      "the signing key is not the project release key",
      "use the project key, or pass --embed-key to build binaries that trust this key",
    );
  }
  const version = normalizeVersion(options.version ?? pkg.version);
  if (!version) fail(`${options.version} is not a version`, "use X.Y.Z");
  const targets = (options.targets ?? ALL_TARGETS).map(parseTarget);
  if (existsSync(options.outDir) && readdirSync(options.outDir).length > 0) {
    fail(`${options.outDir} is not empty`, "give an empty or new directory");
  }
  mkdirSync(options.outDir, { recursive: true });

  const define: Record<string, string> = {};
  if (options.version !== undefined) define.__CARAPACE_BUILD_VERSION__ = JSON.stringify(version);
  if (embedKey) define.__CARAPACE_RELEASE_KEY__ = JSON.stringify(publicKey);

  const scratch = join(options.outDir, ".build");
  const libzmq: { path: string; target: string }[] = [];
  const smoke: string[] = [];
  try {
    for (const { os, arch } of targets) {
      const suffix = `-${os}-${arch}`;
      // compileBinaries embeds this file (through prepareLibzmq); the SBOM records its hash.
      const source =
        os === "darwin"
          ? `node_modules/zeromq/build/darwin/${arch}/node/libc-115-Release/addon.node`
          : `node_modules/zeromq/build/linux/${arch}/node/glibc-127-Release/addon.node`;
      libzmq.push({ path: join(root, source), target: `${os}-${arch}` });
      const built = await compileBinaries({ target: `bun-${os}-${arch}`, outDir: scratch, suffix, define });
      copyFileSync(built.carapace, join(options.outDir, carapaceArtifact(os, arch)));
      if (os === "linux") copyFileSync(built.ipc, join(options.outDir, ipcArtifact(arch)));
      smoke.push(smokeTest(join(options.outDir, carapaceArtifact(os, arch)), os, arch, version));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    prepareLibzmq(process.arch === "arm64" ? "arm64" : "x64", process.platform === "darwin" ? "darwin" : "linux");
  }

  writeFileSync(join(options.outDir, RELEASE_FILES.installer), installerFor(publicKey, embedKey));
  writeFileSync(join(options.outDir, RELEASE_FILES.version), `${version}\n`);
  const sbom = buildSbom({ version, bunVersion: Bun.version, libzmq });
  writeFileSync(join(options.outDir, RELEASE_FILES.sbom), `${JSON.stringify(sbom, null, 2)}\n`);

  const listed = readdirSync(options.outDir).sort();
  const sums = new Map(listed.map((name) => [name, sha256Hex(readFileSync(join(options.outDir, name)))]));
  const checksums = new TextEncoder().encode(formatChecksums(sums));
  const signature = signDetached(checksums, privateKey);
  writeFileSync(join(options.outDir, RELEASE_FILES.checksums), checksums);
  writeFileSync(join(options.outDir, RELEASE_FILES.signature), signature);
  for (const name of readdirSync(options.outDir))
    chmodSync(
      join(options.outDir, name),
      name.startsWith("carapace-") || name.startsWith("ipc-") || name === "install.sh" ? 0o755 : 0o644,
    );

  // Check what was written with the verifier users run, before anyone publishes it.
  verifyReleaseIndex(
    { checksums, signature, version: readFileSync(join(options.outDir, RELEASE_FILES.version)) },
    publicKey,
  );
  return { version, files: readdirSync(options.outDir).sort(), publicKey, smoke };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      key: { type: "string" },
      targets: { type: "string" },
      "embed-key": { type: "boolean", default: false },
      "release-version": { type: "string" },
    },
    strict: true,
  });
  try {
    if (!values.out || !values.key)
      fail("--out and --key are required", "bun build/release/release.ts --out <dir> --key <private-key.pem>");
    const t0 = performance.now();
    const result = await buildRelease({
      outDir: values.out,
      privateKeyPem: readFileSync(values.key, "utf8"),
      targets: values.targets?.split(",").map((t) => t.trim()),
      embedKey: values["embed-key"],
      version: values["release-version"],
    });
    console.log(`release v${result.version} in ${values.out} (${Math.round(performance.now() - t0)} ms)`);
    for (const file of result.files) console.log(`  ${file}`);
    for (const line of result.smoke) console.log(`  smoke: ${line}`);
    if (values["embed-key"]) console.log(`  binaries and install.sh trust ${result.publicKey} (--embed-key)`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
