/**
 * `createTieredStore`: the first tier, told how the cache's values carry their expiry. The tier
 * (src/stores/tiered.ts) keeps values without reading them; the core's envelope says when each
 * expires, so the composition layer hands the tier the core's reader.
 */
import type { Store } from '../contracts/store.js';
import { envelopeExpiry } from '../core/envelope.js';
import { TieredStore, type TieredStoreOptions } from '../stores/tiered.js';

/**
 * Put a bounded in-process first tier in front of `shared`:
 * `createTieredStore(createRedisStore({ url }), { bus: createRedisBus(url) })`.
 */
export function createTieredStore(shared: Store, options: TieredStoreOptions): TieredStore {
  return new TieredStore(shared, { expiryOf: envelopeExpiry, ...options });
}
