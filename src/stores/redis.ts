import { Keyv } from 'keyv';
import { importDriver, requireDriver } from './drivers.js';
import { KeyvStore } from './keyv-store.js';
import { clientOptions, clusterOptions, destroyClient, type ClosableClient, type RedisConnection } from './redis-connection.js';
import type { Store } from '../contracts/store.js';
import { checkMs } from '../shared/ms.js';

export type RedisStoreOptions = RedisConnection & {
  /** Namespace prepended to every key (default "njkc"); `clear()` removes only these keys. */
  namespace?: string;
  /** Connect timeout in ms (default 2 000). */
  connectTimeoutMs?: number;
};

/**
 * Redis through `@keyv/redis`. Native expiry (PX), MGET for batches, SCAN-based `clear()`.
 *
 * With `{ cluster: { rootNodes: [{ url }] } }` (or a `redis+cluster://h:p,h:p` URL) it talks to a
 * Redis Cluster: each key goes to the node owning its slot, and batches (an entry read together
 * with its tags' tokens) are split by slot, so keys and tag tokens may live on different shards.
 */
export function createRedisStore(options: RedisStoreOptions): Store {
  requireDriver('@keyv/redis', 'redis://');
  const namespace = options.namespace ?? 'njkc';
  if (options.connectTimeoutMs !== undefined) checkMs(options.connectTimeoutMs, 'connectTimeoutMs', 'Redis store');
  const flags = { namespace, throwOnConnectError: true, throwOnErrors: true };
  return new KeyvStore({
    kind: 'redis',
    fastDeserialize: true,
    connect: async () => {
      const { createKeyv, createCluster, default: KeyvRedis } = await importDriver('@keyv/redis', 'redis://', () => import('@keyv/redis'));
      if (options.cluster === undefined) return createKeyv(clientOptions(options.url, options), flags);
      // createKeyv() takes single servers only; build the same Keyv around a cluster adapter.
      const cluster = createCluster(clusterOptions(options.cluster, options));
      const adapter = new KeyvRedis(cluster, flags);
      adapter.namespace = namespace;
      // A cluster reports itself open before it has learnt which node owns which slot, and
      // @keyv/redis would then send a second caller's command nowhere: connect once, for everyone,
      // and try again on the next command if it failed.
      let connecting: Promise<unknown> | undefined;
      const getClient = adapter.getClient.bind(adapter);
      adapter.getClient = async () => {
        connecting ??= cluster.isOpen ? Promise.resolve() : cluster.connect().catch((error: unknown) => {
          connecting = undefined;
          throw error;
        });
        await connecting;
        return getClient();
      };
      const keyv = new Keyv(adapter, { namespace, useKeyPrefix: false });
      keyv.throwOnErrors = true;
      return keyv;
    },
    // node-redis says 'ready' on every (re)connection: the cache probes its circuit breaker then
    // (Store.onReady), so caching resumes as soon as a restarted server answers. A cluster client
    // has no such event (its per-node 'node-ready' fires once per node client), so it has no hook.
    ...(options.cluster === undefined
      ? {
          watchReady: (keyv: Keyv, ready: () => void) => {
            (keyv.store as { client: { on(event: 'ready', listener: () => void): unknown } }).client.on('ready', ready);
          },
        }
      : {}),
    // A graceful QUIT waits for queued commands, which never finish while Redis is unreachable
    // (and does nothing while the first connection is still being attempted): close the socket
    // and stop reconnecting instead. Cached data needs no goodbye.
    disconnect: async (keyv) => {
      await destroyClient((keyv.store as { client: ClosableClient }).client, options.connectTimeoutMs ?? 2_000);
    },
  });
}

