import { randomUUID } from 'node:crypto';
import { createPostgresStore, createRedisBus, createRedisStore, createTieredStore, type Store } from './library.js';

/**
 * A Redis store for the bench, in a namespace (and pub/sub channel) of its own, so clearing it
 * at the end touches no one else's keys on a shared server. With `tier`, an in-process first tier
 * in front of it, kept coherent over pub/sub: what `redis://…?tier=memory` builds.
 */
export function benchRedisStore(url: string, tier: boolean): Store {
  const id = randomUUID().slice(0, 8);
  const shared = createRedisStore({ url, namespace: `njkc-bench-${id}` });
  return tier ? createTieredStore(shared, { bus: createRedisBus(url, { channel: `njkc-bench:invalidate:${id}` }) }) : shared;
}

/** A PostgreSQL store for the bench, in a table of its own (`njkc_bench`), emptied by `clear()` at the end. */
export function benchPostgresStore(url: string): Store {
  return createPostgresStore({ url, table: 'njkc_bench', sweepIntervalMs: 0 });
}
