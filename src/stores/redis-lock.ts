import { randomBytes } from 'node:crypto';
import type { RedisClientType, RedisClusterType } from '@keyv/redis';
import { CacheError, StoreSpecError } from '../contracts/errors.js';
import type { DistributedLock } from '../contracts/lock.js';
import { requireDriver } from './drivers.js';
import { openClient, openCluster, parseClusterUrl, type RedisConnection } from './redis-connection.js';
import { redactUrl } from '../shared/redact.js';
import { checkMs } from '../shared/ms.js';

export interface RedisLockOptions {
  /** Prepended to every lock key (default "njkc:lock:"). */
  prefix?: string;
  /** Connect timeout, ms (default 2 000). */
  connectTimeoutMs?: number;
}

/** Compare-and-delete: only the holder's token removes the lock. */
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

type LockClient = Pick<RedisClientType, 'set' | 'eval'>;

/**
 * A lock in Redis for distributed single-flight: `SET key token NX PX ttl` takes it, a Lua
 * compare-and-delete releases it only for its owner, and it expires by itself should the owner
 * die. Give it a URL (`redis://…`, `redis+cluster://h:p,h:p`), a connection (`{ url }` or
 * `{ cluster }`), or a connected node-redis client or cluster of yours (then `close()` leaves it open).
 *
 * Commands fail at once while Redis is unreachable (no offline queue), so a caller waiting for the
 * lock falls back to rendering by itself instead of hanging.
 */
export function createRedisLock(connection: string | RedisConnection | LockClient, options: RedisLockOptions = {}): DistributedLock {
  return new RedisLock(connection, options);
}

class RedisLock implements DistributedLock {
  readonly #prefix: string;
  readonly #client: Promise<LockClient>;
  readonly #owned: boolean;
  #closed = false;

  constructor(connection: string | RedisConnection | LockClient, options: RedisLockOptions) {
    this.#prefix = options.prefix ?? 'njkc:lock:';
    const opts = { connectTimeoutMs: checkMs(options.connectTimeoutMs ?? 2_000, 'connectTimeoutMs', 'Redis lock'), disableOfflineQueue: true, name: 'njkc-lock' };
    if (isClient(connection)) {
      this.#owned = false;
      this.#client = Promise.resolve(connection);
      return;
    }
    this.#owned = true;
    requireDriver('@keyv/redis', 'Redis lock');
    const spec = typeof connection === 'string' ? toConnection(connection) : connection;
    this.#client = (async () => {
      const client: RedisClientType | RedisClusterType = spec.cluster === undefined ? await openClient(spec, opts) : await openCluster(spec.cluster, opts);
      client.on('error', () => {});
      await client.connect();
      return client as LockClient;
    })();
    this.#client.catch(() => {});
  }

  async acquire(key: string, ttlMs: number): Promise<string | null> {
    if (!(ttlMs >= 1)) throw new CacheError('ERR_CACHE_OPTIONS', `Lock TTL must be at least 1 ms; got ${String(ttlMs)}.`);
    const client = await this.#open();
    const token = randomBytes(16).toString('base64url');
    const reply = await client.set(this.#prefix + key, token, { condition: 'NX', expiration: { type: 'PX', value: Math.ceil(ttlMs) } });
    return reply === 'OK' ? token : null;
  }

  async release(key: string, token: string): Promise<void> {
    const client = await this.#open();
    await client.eval(RELEASE, { keys: [this.#prefix + key], arguments: [token] });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#owned) return;
    const client = await this.#client.catch(() => undefined);
    await (client as { destroy?: () => unknown } | undefined)?.destroy?.();
  }

  #open(): Promise<LockClient> {
    if (this.#closed) return Promise.reject(new CacheError('ERR_CACHE_CLOSED', 'This lock was closed; create a new one (createRedisLock) to take locks again.'));
    return this.#client;
  }
}

function isClient(value: unknown): value is LockClient {
  const v = value as Partial<LockClient> | null;
  return typeof v === 'object' && v !== null && typeof v.set === 'function' && typeof v.eval === 'function';
}

function toConnection(url: string): RedisConnection {
  if (/^rediss?\+cluster:\/\//i.test(url)) return { cluster: parseClusterUrl(url) };
  if (!/^rediss?:\/\//i.test(url)) throw new StoreSpecError(`createRedisLock needs a redis:// or redis+cluster:// URL; got "${redactUrl(url)}".`);
  return { url };
}
