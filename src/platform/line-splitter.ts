/**
 * Splits a text stream into trimmed, non-empty lines, with a cap so a runaway line cannot grow
 * without bound (a line longer than `maxLine` is dropped). The one line splitter of the tree.
 */
export class LineSplitter {
  private buffer = "";
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = 4 * 1024 * 1024,
  ) {}
  push(chunk: string): void {
    this.buffer += chunk;
    let nl = this.buffer.indexOf("\n");
    while (nl >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.onLine(line);
      nl = this.buffer.indexOf("\n");
    }
    if (this.buffer.length > this.maxLine) this.buffer = "";
  }
  end(): void {
    const rest = this.buffer.trim();
    this.buffer = "";
    if (rest) this.onLine(rest);
  }
}
