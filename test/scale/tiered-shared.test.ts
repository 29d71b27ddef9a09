import { describe, it } from 'vitest';
import { createStore } from '../../src/index.js';
import { REDIS_URL, announceSkip } from '../support/env.js';
import { describeStoreConformance } from '../stores/conformance.js';

// The first tier, with its real bus, behaves like any other store.
if (REDIS_URL === undefined) {
  announceSkip('first tier over Redis', 'REDIS_URL');
  describe.skip('store conformance: redis with a first tier (REDIS_URL not set)', () => {
    it('skipped', () => {});
  });
} else {
  const url = REDIS_URL;
  describeStoreConformance('redis with a first tier', { makeStore: () => createStore(`${url}?tier=memory&tierBytes=1048576`), shared: true });
}
