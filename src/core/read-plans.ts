import { LRUCache } from 'lru-cache';
import type { ChangeLog, ChangeSeq } from './change-log.js';

/**
 * Learned prefetch: one store round trip for the lookups of a whole render.
 *
 * Nunjucks renders a `for` loop one iteration at a time, so the fragments of a list are looked up
 * one after another and no batching of concurrent reads can join them. Instead each render reads
 * through a `ReadScope`, which records what it looks up (a *plan*: entry keys with their tags'
 * token keys, in order). The next render of the same template starts by reading everything the
 * last plan holding its first key read, in one multi-get; later lookups are answered from that
 * snapshot. A lookup the snapshot cannot answer is a *deviation*: the scope may prefetch once more
 * (the plan that holds the deviating key, e.g. another page of the same list), otherwise it reads
 * the key alone, and from then on records its own plan, which replaces the old one for every key
 * it holds. An unchanged page is 1 round trip; a page whose items changed is 2 (or the changed
 * items alone), and re-learns.
 *
 * A prefetched value is never older than a read made at that moment would be as far as this
 * process can know: every value in a snapshot carries the change-log moment it was read at, and
 * one whose key this process wrote, deleted or invalidated since, or that another process
 * announced on the store's bus since, is dropped and read again. Each entry key is served from a
 * snapshot once per render (a second lookup of it reads the store).
 */

/** Keys read for one lookup: the entry key first, then its tags' token keys. */
export type KeyGroup = readonly string[];

/** Most groups one plan records (a loop longer than this reads the rest as it goes). */
const MAX_PLAN_GROUPS = 512;
/**
 * Most keys one plan holds. A lookup's group grows by the token keys of the tags its entry learned
 * (bubbled up from inside it, up to 1 000), so groups are not all a few keys long; a plan stops
 * growing here (what it does not hold is read as the render goes).
 */
const MAX_PLAN_KEYS = 20_000;
/** Prefetches one render may make: its plan, and the plan of the first key that deviated. */
const MAX_PREFETCHES = 2;

class Plan {
  readonly groups: KeyGroup[] = [];
  /** Keys over all its groups (what the plan costs in memory). */
  keys = 0;
  constructor(readonly id: string) {}
}

/**
 * The plans of one cache, indexed by (scope id, entry key). Bounded: plans are kept in an LRU
 * whose size is the number of keys they hold (`maxKeys` over all plans: 50 000 lookups of an
 * entry and one tag); an evicted plan takes its index entries with it.
 */
export class ReadPlans {
  readonly log: ChangeLog;
  readonly #index = new Map<string, Plan>();
  /** Plans by the number of keys they hold (the value changes as a plan grows: lru-cache re-sizes an entry only when its value changes). */
  readonly #plans: LRUCache<Plan, number>;

  constructor(log: ChangeLog, maxKeys = 100_000) {
    this.log = log;
    this.#plans = new LRUCache<Plan, number>({
      maxSize: maxKeys,
      sizeCalculation: (keys) => Math.max(1, keys),
      dispose: (_groups, plan, reason) => {
        // A plan re-set with its new size stays; one evicted or deleted takes its index entries.
        if (reason === 'set') return;
        for (const group of plan.groups) {
          const key = `${plan.id}\u0000${group[0] as string}`;
          if (this.#index.get(key) === plan) this.#index.delete(key);
        }
      },
    });
  }

  /** A scope for one render of `id` (a template name; renders of one template share plans). */
  scope(id: string): ReadScope {
    return new ReadScope(this, id);
  }

  find(id: string, entryKey: string): Plan | undefined {
    const plan = this.#index.get(`${id}\u0000${entryKey}`);
    // Keep plans in use recent.
    if (plan !== undefined) this.#plans.get(plan);
    return plan;
  }

  /** Append `group` to `plan` and point its entry key at it (the newest plan holding a key wins). */
  add(id: string, plan: Plan, group: KeyGroup): void {
    if (plan.groups.length >= MAX_PLAN_GROUPS || plan.keys + group.length > MAX_PLAN_KEYS) return;
    plan.groups.push(group);
    plan.keys += group.length;
    this.#index.set(`${id}\u0000${group[0] as string}`, plan);
    // (Re)sized in the LRU as it grows; a plan grows only while a render deviates from its plan.
    this.#plans.set(plan, plan.keys);
  }

  /** Put `extended` in place of `group` in `plan` (same entry key, more keys). */
  replace(plan: Plan, group: KeyGroup, extended: KeyGroup): void {
    const at = plan.groups.lastIndexOf(group);
    const more = extended.length - group.length;
    // An evicted plan is not brought back; a plan at its bound keeps the shorter group.
    if (at === -1 || !this.#plans.has(plan) || plan.keys + more > MAX_PLAN_KEYS) return;
    plan.groups[at] = extended;
    plan.keys += more;
    this.#plans.set(plan, plan.keys);
  }

  /** Keys held by all plans (for tests of the bound). */
  get size(): number {
    return this.#plans.calculatedSize;
  }
}

interface Snapshot {
  value: unknown;
  at: ChangeSeq;
}

type Step = { kind: 'values'; values: unknown[] } | { kind: 'prefetch'; keys: string[]; at: ChangeSeq } | { kind: 'alone' } | { kind: 'bypass' };
const ALONE: Step = { kind: 'alone' };
const BYPASS: Step = { kind: 'bypass' };

/**
 * The reads of one render (see above). Pass it to `fetch` as `scope`; call `end()` when the render
 * is done so a render that looked up fewer keys than its plan shrinks the plan. Not shared between
 * renders.
 */
export class ReadScope {
  readonly id: string;
  readonly #plans: ReadPlans;
  readonly #snapshot = new Map<string, Snapshot>();
  /** Entry keys looked up so far, in order, with their groups. */
  readonly #seen = new Map<string, KeyGroup>();
  readonly #prefetched = new Set<Plan>();
  #own: Plan | undefined;
  #ended = false;
  /** The store's `peekVersion` when the snapshot was read synchronously (see `peek`). */
  #version: unknown;

  constructor(plans: ReadPlans, id: string) {
    this.#plans = plans;
    this.id = id;
  }

  /** Round trips this scope made to prefetch (for tests and stats). */
  get prefetches(): number {
    return this.#prefetched.size;
  }

  /**
   * Raw values of `group` (entry key, then token keys), from the snapshot when it can answer,
   * otherwise through `read` (which may return `null` when the store failed).
   */
  async read(group: KeyGroup, read: (keys: readonly string[]) => Promise<unknown[] | null>): Promise<unknown[] | null> {
    const step = this.#step(group);
    if (step.kind === 'values') return step.values;
    if (step.kind === 'prefetch') {
      const fetched = await read(step.keys);
      if (fetched === null) return null;
      const values = this.#land(step, fetched, group);
      if (values !== undefined) return values;
    }
    const values = await read(group);
    if (step.kind !== 'bypass') this.#record(group);
    return values;
  }

  /**
   * More keys for the lookup of `entryKey` made in this render (the tokens of tags an entry learned
   * at commit, known only once the entry is read): from the snapshot when it holds them all,
   * otherwise read, and added to the lookup's group so the next render prefetches them too.
   */
  async more(entryKey: string, keys: readonly string[], read: (keys: readonly string[]) => Promise<unknown[] | null>): Promise<unknown[] | null> {
    const held = this.#held(keys);
    if (held !== undefined) {
      this.#extend(entryKey, keys, false);
      return held;
    }
    const values = await read(keys);
    if (values !== null) this.#extend(entryKey, keys, true);
    return values;
  }

  /** Values of `keys` from the snapshot (kept there: tag tokens are shared by entries), if all are held and unchanged. */
  #held(keys: readonly string[]): unknown[] | undefined {
    if (this.#ended || this.#snapshot.size === 0) return undefined;
    const values: unknown[] = [];
    for (const key of keys) {
      const held = this.#snapshot.get(key);
      if (held === undefined || this.#plans.log.changedSince(key, held.at)) return undefined;
      values.push(held.value);
    }
    return values;
  }

  /**
   * Add `keys` to the lookup of `entryKey`, and to this render's own plan if it has one; after a
   * `read` (the plan followed did not know them) a render without its own plan starts one.
   */
  #extend(entryKey: string, keys: readonly string[], read: boolean): void {
    const group = this.#seen.get(entryKey);
    if (this.#ended || group === undefined) return;
    const extra = keys.filter((key) => !group.includes(key));
    if (extra.length === 0) return;
    const extended = [...group, ...extra];
    this.#seen.set(entryKey, extended);
    if (this.#own !== undefined) this.#plans.replace(this.#own, group, extended);
    // Following a plan that did not know these keys: a deviation, so this render records its own.
    else if (read) this.#record(extended);
  }

  /**
   * The same, synchronously, for a store that can read in this process (`Store.peekMany`); like
   * `read`, `undefined` from `peekMany` means it cannot answer now.
   */
  peek(group: KeyGroup, peekMany: (keys: readonly string[]) => unknown[] | undefined, version?: () => unknown): unknown[] | undefined {
    // Another connection wrote to the store since the snapshot was read (a second process on one
    // SQLite file, which has no bus): nothing of it may be served any more.
    if (version !== undefined) this.#current(version);
    const step = this.#step(group);
    if (step.kind === 'values') return step.values;
    if (step.kind === 'prefetch') {
      if (version !== undefined) this.#current(version);
      const fetched = peekMany(step.keys);
      if (fetched === undefined) return undefined;
      const values = this.#land(step, fetched, group);
      if (values !== undefined) return values;
    }
    const values = peekMany(group);
    if (step.kind !== 'bypass') this.#record(group);
    return values;
  }

  /** Drop the snapshot if the store's version moved since it was read. */
  #current(version: () => unknown): void {
    const now = version();
    if (now === this.#version) return;
    this.#snapshot.clear();
    this.#version = now;
  }

  /** What a lookup of `group` takes: values from the snapshot, a prefetch, or a read of its own. */
  #step(group: KeyGroup): Step {
    const entryKey = group[0] as string;
    // A second lookup of one entry in a render (a lock's re-check, a peek that found it stale)
    // reads the store and teaches the plan nothing.
    if (this.#ended || this.#seen.has(entryKey)) return BYPASS;
    this.#seen.set(entryKey, group);
    const values = this.#take(group);
    if (values !== undefined) {
      if (this.#own !== undefined) this.#record(group);
      return { kind: 'values', values };
    }
    if (this.#prefetched.size < MAX_PREFETCHES) {
      const plan = this.#plans.find(this.id, entryKey);
      if (plan !== undefined && plan !== this.#own && !this.#prefetched.has(plan)) {
        this.#prefetched.add(plan);
        return { kind: 'prefetch', keys: this.#keysFor(plan, group), at: this.#plans.log.now() };
      }
    }
    // A deviation: read alone, and record this render's own plan from here on.
    return ALONE;
  }

  /** Keep what a prefetch read, and answer `group` from it (`undefined` if it changed meanwhile). */
  #land(step: { keys: readonly string[]; at: ChangeSeq }, values: readonly unknown[], group: KeyGroup): unknown[] | undefined {
    step.keys.forEach((key, i) => this.#snapshot.set(key, { value: values[i], at: step.at }));
    const taken = this.#take(group);
    if (taken !== undefined && this.#own !== undefined) this.#record(group);
    return taken;
  }

  /** The render is done: a render that used only part of the plan it followed re-learns. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#own !== undefined || this.#prefetched.size === 0) return;
    let planned = 0;
    for (const plan of this.#prefetched) planned += plan.groups.length;
    if (this.#seen.size >= planned) return;
    const own = new Plan(this.id);
    for (const group of this.#seen.values()) this.#plans.add(this.id, own, group);
  }

  /** Values of every key of `group` from the snapshot, if all are there and unchanged since. */
  #take(group: KeyGroup): unknown[] | undefined {
    if (this.#snapshot.size === 0) return undefined;
    const log = this.#plans.log;
    const values: unknown[] = [];
    for (const key of group) {
      const held = this.#snapshot.get(key);
      if (held === undefined || log.changedSince(key, held.at)) return undefined;
      values.push(held.value);
    }
    // Served once: a second lookup of this entry in the same render reads the store.
    this.#snapshot.delete(group[0] as string);
    return values;
  }

  /** The keys a prefetch of `plan` reads: its lookups not yet made or held, and `group`. */
  #keysFor(plan: Plan, group: KeyGroup): string[] {
    const keys = new Set<string>(group);
    for (const planned of plan.groups) {
      // Lookups already made are not read again; the one being made now is read with every key its
      // plan holds (the tokens of tags its entry learned at commit, see `more`).
      if (planned[0] !== group[0] && this.#seen.has(planned[0] as string)) continue;
      for (const key of planned) if (!this.#snapshot.has(key)) keys.add(key);
    }
    return [...keys];
  }

  /** Record a lookup in this render's own plan, seeded with the lookups before it. */
  #record(group: KeyGroup): void {
    let own = this.#own;
    if (own === undefined) {
      own = this.#own = new Plan(this.id);
      for (const seen of this.#seen.values()) this.#plans.add(this.id, own, seen);
      return;
    }
    this.#plans.add(this.id, own, group);
  }
}
