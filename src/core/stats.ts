/** Counters for one fragment name, view or page label. */
export interface LabelStats {
  hits: number;
  misses: number;
  /** Served stale inside the stale-while-revalidate window. */
  stale: number;
  /** Times the producer (fragment body, view, page handler) ran. */
  renders: number;
  /** Total time spent producing, ms. */
  renderMs: number;
  /** Producing time avoided by hits, ms (sum of the stored render times of every hit). */
  savedMs: number;
}

export interface CacheStats extends LabelStats {
  sets: number;
  deletes: number;
  invalidations: number;
  /** Store errors and timeouts (each failed open); calls the open circuit skipped are not counted. */
  errors: number;
  timeouts: number;
  /** Values not stored because they exceeded `maxEntryBytes`. */
  oversize: number;
  /** Values found in the store that were not ours or were corrupt (read as misses). */
  corrupt: number;
  /** Concurrent callers that joined a render already under way instead of rendering again. */
  coalesced: number;
  /** Purges a reverse proxy or CDN confirmed (`purgers`), one per purger and `invalidateTags` call. */
  purges: number;
  /** Purge attempts that failed (each reported through the `error` event, then retried). */
  purgeErrors: number;
  /** Purges given up after their last attempt (the proxy keeps those pages until they expire there). */
  purgesLost: number;
  circuit: 'closed' | 'open' | 'half-open';
  since: number;
  byLabel: Record<string, LabelStats>;
}

export type Counter = Exclude<keyof CacheStats, 'circuit' | 'since' | 'byLabel' | keyof LabelStats>;

function emptyLabel(): LabelStats {
  return { hits: 0, misses: 0, stale: 0, renders: 0, renderMs: 0, savedMs: 0 };
}

/**
 * Bounds of the per-label table. Labels are fragment names, views and page labels: a few dozen in
 * an ordinary app, but one built from request data (a label per URL) would grow without end. Past
 * `entries` labels, new ones are counted together under `OTHER_LABEL`; a label is cut to
 * `longestLabel` characters. So the table holds at most 1 001 entries of at most 2 × 200 bytes of
 * text plus its counters (about 250 KiB).
 */
export const LABEL_STATS = { entries: 1_000, longestLabel: 200 } as const;

/** Where lookups of labels beyond `LABEL_STATS.entries` are counted. */
export const OTHER_LABEL = '(other labels)';

export class StatsRecorder {
  #totals = emptyLabel();
  #counters: Record<Counter, number> = { sets: 0, deletes: 0, invalidations: 0, errors: 0, timeouts: 0, oversize: 0, corrupt: 0, coalesced: 0, purges: 0, purgeErrors: 0, purgesLost: 0 };
  #byLabel = new Map<string, LabelStats>();
  #since = Date.now();

  #label(label: string | undefined): LabelStats | undefined {
    if (label === undefined) return undefined;
    let entry = this.#byLabel.get(label);
    if (entry === undefined) {
      const name = label.length > LABEL_STATS.longestLabel ? label.slice(0, LABEL_STATS.longestLabel) : label;
      entry = this.#byLabel.get(name);
      if (entry !== undefined) return entry;
      const full = this.#byLabel.size >= LABEL_STATS.entries;
      const key = full ? OTHER_LABEL : name;
      entry = this.#byLabel.get(key) ?? emptyLabel();
      this.#byLabel.set(key, entry);
    }
    return entry;
  }

  lookup(outcome: 'hits' | 'misses' | 'stale', label: string | undefined, savedMs = 0): void {
    this.#totals[outcome] += 1;
    this.#totals.savedMs += savedMs;
    const entry = this.#label(label);
    if (entry) {
      entry[outcome] += 1;
      entry.savedMs += savedMs;
    }
  }

  render(label: string | undefined, ms: number): void {
    this.#totals.renders += 1;
    this.#totals.renderMs += ms;
    const entry = this.#label(label);
    if (entry) {
      entry.renders += 1;
      entry.renderMs += ms;
    }
  }

  count(counter: Counter, by = 1): void {
    this.#counters[counter] += by;
  }

  snapshot(circuit: CacheStats['circuit']): CacheStats {
    const byLabel: Record<string, LabelStats> = {};
    for (const [label, entry] of this.#byLabel) byLabel[label] = { ...entry };
    return { ...this.#totals, ...this.#counters, circuit, since: this.#since, byLabel };
  }

  reset(): void {
    this.#totals = emptyLabel();
    for (const key of Object.keys(this.#counters) as Counter[]) this.#counters[key] = 0;
    this.#byLabel.clear();
    this.#since = Date.now();
  }
}
