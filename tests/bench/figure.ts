/** One benchmark figure with its unit and, where it is a ratio, the same-run baseline it compares to. */
export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number; unit: string };
  goal?: string;
  /** When `value` is the median of interleaved repetitions: their smallest and largest, and how many. */
  spread?: { min: number; max: number; n: number };
}

/** The median of repeated measurements, with their min and max; `digits` decimals (0: whole numbers). */
export function spreadFigure(
  name: string,
  values: readonly number[],
  unit: string,
  digits = 0,
  extra: Pick<BenchFigure, "baseline" | "goal"> = {},
): BenchFigure {
  const round = (v: number) => Number(v.toFixed(digits));
  const sorted = [...values].sort((a, b) => a - b);
  return {
    name,
    value: round(median(sorted)),
    unit,
    ...extra,
    spread: { min: round(sorted[0] ?? 0), max: round(sorted.at(-1) ?? 0), n: sorted.length },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length));
  return sorted[i] as number;
}

export function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/**
 * CPU time (user + system) of a process in ms, from /proc; with `thread`, of that one thread (the main
 * thread's id is the process id). The kernel counts in 10 ms ticks.
 */
export function cpuMs(pid: number, thread?: number): number {
  const file = thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`;
  const stat = require("node:fs").readFileSync(file, "utf8") as string;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}
