/**
 * Copies the libzmq inside the zeromq package's prebuilt addon to build/.generated/libzmq-<arch>.so,
 * where src/transport imports it for embedding. glibc-127 is the variant that runs on glibc 2.36.
 */
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const variants: Record<string, string> = {
  x64: "node_modules/zeromq/build/linux/x64/node/glibc-127-Release/addon.node",
  arm64: "node_modules/zeromq/build/linux/arm64/node/glibc-127-Release/addon.node",
};

export function prepareLibzmq(arch: "x64" | "arm64" = "x64", os: "linux" | "darwin" = "linux"): string {
  const src =
    os === "darwin"
      ? `node_modules/zeromq/build/darwin/${arch}/node/libc-115-Release/addon.node`
      : (variants[arch] as string);
  const from = join(root, src);
  if (!existsSync(from)) {
    throw new Error(`[BUILD] Error: ${src} is missing. Fix: run \`bun install\` so the zeromq package is present.`);
  }
  const dir = join(root, "build/.generated");
  mkdirSync(dir, { recursive: true });
  const to = join(dir, "libzmq.so");
  copyFileSync(from, to);
  return to;
}

if (import.meta.main) console.log(prepareLibzmq());
