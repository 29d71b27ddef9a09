import { describe, it } from 'vitest';
import * as vitest from 'vitest';
import { createStore, type Store } from '../../src/stores.js';
import { REDIS_URL, announceSkip } from '../support/env.js';
import { describeStoreConformance } from '../../src/testing.js';

// The first tier, with its real bus, behaves like any other store.
if (REDIS_URL === undefined) {
  announceSkip('first tier over Redis', 'REDIS_URL');
  describe.skip('store conformance: redis with a first tier (REDIS_URL not set)', () => {
    it('skipped', () => {});
  });
} else {
  const url = REDIS_URL;
  describeStoreConformance(vitest, 'redis with a first tier', { makeStore: () => connected(createStore(`${url}?tier=memory&tierBytes=1048576`)) });
}

/** The store, connected: the suite's timings then measure operations, not connecting (loading a driver, discovering a cluster). */
async function connected(store: Store): Promise<Store> {
  await store.connect?.();
  return store;
}
