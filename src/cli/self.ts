/** The argv that runs this same `carapace` again: the compiled executable, or bun with the entry script. */
export function selfCommand(): string[] {
  const compiled = import.meta.url.startsWith("file:///$bunfs/");
  return compiled ? [process.execPath] : [process.execPath, Bun.main];
}
