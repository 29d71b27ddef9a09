import type { Keyv } from 'keyv';
import { KeyvStore } from './keyv-store.js';
import type { Store } from './types.js';

export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`. */
  url: string;
  /** Namespace prepended to every key (default "njkc"); `clear()` removes only these keys. */
  namespace?: string;
  /** Connect timeout in ms (default 2 000). */
  connectTimeoutMs?: number;
}

/** Redis through `@keyv/redis`. Native expiry (PX), MGET for batches, SCAN-based `clear()`. */
export function createRedisStore(options: RedisStoreOptions): Store {
  const namespace = options.namespace ?? 'njkc';
  return new KeyvStore({
    kind: 'redis',
    connect: async () => {
      const { createKeyv } = await import('@keyv/redis');
      const keyv: Keyv = createKeyv(
        { url: options.url, socket: { connectTimeout: options.connectTimeoutMs ?? 2_000, reconnectStrategy: (retries: number) => Math.min(retries * 100, 2_000) } },
        { namespace, throwOnConnectError: true, throwOnErrors: true },
      );
      return keyv;
    },
  });
}
