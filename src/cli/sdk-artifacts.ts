/**
 * The SDK artifacts build/sdk-dts.ts generates, embedded in the compiled binary (imported lazily, so
 * only `plugin create` and `plugin test` need them when running from source).
 */
import { CliError } from "./errors.ts";

function missing(what: string): CliError {
  return new CliError("PLUGIN", `the ${what} was not generated`, "run `bun build/sdk-dts.ts` (bun run build runs it)");
}

/** The `.d.ts` of @carapace/sdk and @carapace/testing. */
export async function sdkDeclarations(): Promise<string> {
  try {
    const mod = (await import("../../build/.generated/carapace-sdk.d.txt", { with: { type: "text" } })) as {
      default: string;
    };
    return mod.default;
  } catch {
    throw missing("SDK declaration file (carapace-sdk.d.ts)");
  }
}

/** The self-contained test-kit preload for `bun test` runs of a plugin's own tests. */
export async function testingPreload(): Promise<string> {
  try {
    const mod = (await import("../../build/.generated/testing-preload.js.txt", { with: { type: "text" } })) as {
      default: string;
    };
    return mod.default;
  } catch {
    throw missing("test-kit preload");
  }
}
