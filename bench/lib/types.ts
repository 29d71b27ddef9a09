/** One line of the results table. Ratios are the headline; absolute numbers are context. */
export interface Row {
  /** Stable id, e.g. "fragments.hit-overhead.memory". */
  id: string;
  label: string;
  /** What was measured for the subject of the row. */
  value: number;
  unit: string;
  /** More figures shown next to the value (e.g. p99 latency next to requests per second). */
  secondary?: Figure[];
  /** The baseline measured in the same run, when the row is a comparison. */
  baseline?: { label: string; value: number; unit: string; secondary?: Figure[] };
  /** Subject against baseline, oriented as `ratioMeaning` says. */
  ratio?: number;
  ratioMeaning?: string;
  /** Lowest and highest of the per-round ratios behind `ratio`. */
  ratioRange?: [number, number];
  /** A target (issue 6 or issue 10), when one applies to this row. */
  target?: { op: '<=' | '>=' | '>'; value: number; text: string };
  met?: boolean;
  note?: string;
}

export interface Figure {
  label: string;
  value: number;
  unit: string;
}

export type GroupName = 'fragments' | 'http' | 'stores' | 'memory';

export interface GroupResult {
  group: GroupName;
  rows: Row[];
  /** Rows that could not run here, with the reason (e.g. REDIS_URL unset). */
  skipped: string[];
  /** Raw numbers behind the rows (per-round medians, counts), for whoever wants to dig. */
  detail?: Record<string, unknown>;
}

export interface BenchContext {
  quick: boolean;
  redisUrl: string | undefined;
  /** PostgreSQL for the PostgreSQL rows (POSTGRES_URL); the bench uses a table of its own, `njkc_bench`. */
  postgresUrl: string | undefined;
  log: (message: string) => void;
}

export function judge(ratio: number, target: Row['target']): boolean | undefined {
  if (target === undefined) return undefined;
  if (target.op === '<=') return ratio <= target.value;
  return target.op === '>=' ? ratio >= target.value : ratio > target.value;
}
