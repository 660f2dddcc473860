/** The first line of an error from importing a handler, without the host's paths. */
export function importDetail(error: unknown, dir: string): string {
  // A syntax error arrives as an AggregateError of build messages; the first one says what is wrong.
  const first =
    error instanceof AggregateError ? (error.errors[0] as { position?: { line?: number } } | undefined) : undefined;
  const line = first?.position?.line ? ` (line ${first.position.line})` : "";
  const text = first
    ? `${String(first)}${line}`
    : error instanceof Error
      ? `${error.name}: ${error.message}`
      : String(error);
  return (text.split("\n")[0] ?? "").replaceAll(dir, ".").slice(0, 300);
}
