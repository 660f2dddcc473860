import { IS_COMPILED } from "../platform/compiled.ts";

/** The argv that runs this same `carapace` again: the compiled executable, or bun with the entry script. */
export function selfCommand(): string[] {
  return IS_COMPILED ? [process.execPath] : [process.execPath, Bun.main];
}
