/**
 * Store URLs for running many processes: PostgreSQL, Redis Cluster, and a first tier on any of
 * them (and on plain Redis) with `?tier=memory`:
 *
 *     redis://10.0.0.5:6379/0?tier=memory&tierBytes=33554432
 *     │                          │           └ first tier's byte budget (default 32 MiB)
 *     │                          └ an in-process first tier, kept coherent over Redis pub/sub
 *     └ the shared store
 *
 *     redis+cluster://10.0.0.5:7000,10.0.0.6:7000?tier=memory      Redis Cluster, pub/sub on a seed node
 *     postgres://app@db:5432/app?table=njkc_cache&tier=memory      PostgreSQL, LISTEN/NOTIFY
 *
 * `tierMaxAgeMs=N` bounds how long an entry stays in the first tier.
 */
import { StoreSpecError } from '../contracts/errors.js';
import { createPostgresBus } from '../stores/bus-postgres.js';
import { createRedisBus } from '../stores/bus-redis.js';
import type { InvalidationBus } from '../contracts/bus.js';
import { createPostgresStore } from '../stores/postgres.js';
import { parseClusterUrl, type RedisConnection } from '../stores/redis-connection.js';
import { createRedisStore } from '../stores/redis.js';
import { createTieredStore } from './tiered.js';
import type { Store } from '../contracts/store.js';
import { redactUrl } from '../shared/redact.js';

const TIER_PARAMS = ['tier', 'tierBytes', 'tierMaxAgeMs'];

/** The store for `spec` when it is one of the forms above; `undefined` to let the caller handle it. */
export function fromScaleOutUrl(spec: string): Store | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(spec)?.[1]?.toLowerCase();
  const [base = '', query = ''] = splitQuery(spec);
  const params = new URLSearchParams(query);
  const tiered = TIER_PARAMS.some((name) => params.has(name));
  if (scheme === 'postgres' || scheme === 'postgresql') {
    const table = params.get('table') ?? 'njkc_cache';
    const url = withQuery(base, params, ['table', ...TIER_PARAMS]);
    const shared = createPostgresStore({ url, table });
    return tiered ? tier(shared, createPostgresBus(url, { channel: `${table.toLowerCase()}_invalidate` }), params, spec) : shared;
  }
  if (scheme === 'redis+cluster' || scheme === 'rediss+cluster') {
    const connection: RedisConnection = { cluster: parseClusterUrl(withQuery(base, params, TIER_PARAMS)) };
    const shared = createRedisStore(connection);
    return tiered ? tier(shared, redisBus(connection, '0'), params, spec) : shared;
  }
  if ((scheme === 'redis' || scheme === 'rediss') && tiered) {
    const url = withQuery(base, params, TIER_PARAMS);
    let db: string;
    try {
      db = /^\/(\d+)/.exec(new URL(url).pathname)?.[1] ?? '0';
    } catch (cause) {
      throw new StoreSpecError(`Malformed Redis URL "${redactUrl(spec)}". Expected redis://[user:password@]host:port[/db].`, { cause });
    }
    return tier(createRedisStore({ url }), redisBus(url, db), params, spec);
  }
  if (scheme === 'sqlite' && tiered) {
    throw new StoreSpecError(`"${redactUrl(spec)}": SQLite has no way to notify other processes, so a first tier cannot be kept coherent from a URL. Use createTieredStore(createSqliteStore(…), { bus: createRedisBus(url) }), or { bus: null } for a single process.`);
  }
  return undefined;
}

/** The bus for a Redis first tier. Pub/sub channels are not scoped by database number: name it in the channel. */
function redisBus(connection: string | RedisConnection, db: string): InvalidationBus {
  return createRedisBus(connection, { channel: `njkc:invalidate:${db}` });
}

function tier(shared: Store, bus: InvalidationBus, params: URLSearchParams, spec: string): Store {
  const kind = params.get('tier');
  if (kind !== 'memory') throw new StoreSpecError(`"${redactUrl(spec)}": the only first tier is "tier=memory"; got ${kind === null ? 'tier options without tier=memory' : `"tier=${kind}"`}.`);
  const maxBytes = whole(params.get('tierBytes'), 'tierBytes', spec);
  const maxAgeMs = whole(params.get('tierMaxAgeMs'), 'tierMaxAgeMs', spec);
  return createTieredStore(shared, { bus, ...(maxBytes === undefined ? {} : { maxBytes }), ...(maxAgeMs === undefined ? {} : { maxAgeMs }) });
}

function whole(text: string | null, name: string, spec: string): number | undefined {
  if (text === null) return undefined;
  if (!/^[1-9]\d*$/.test(text)) throw new StoreSpecError(`"${redactUrl(spec)}": ${name} must be a positive whole number; got "${text}".`);
  return Number(text);
}

function splitQuery(spec: string): [string, string] {
  const at = spec.indexOf('?');
  return at < 0 ? [spec, ''] : [spec.slice(0, at), spec.slice(at + 1)];
}

/** `base` with the query parameters not in `drop` (driver options such as `sslmode` pass through). */
function withQuery(base: string, params: URLSearchParams, drop: readonly string[]): string {
  const kept = new URLSearchParams([...params].filter(([name]) => !drop.includes(name)));
  const text = kept.toString();
  return text === '' ? base : `${base}?${text}`;
}
