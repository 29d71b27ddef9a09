import { Keyv } from 'keyv';
import { describe, expect, it } from 'vitest';
import { createCache, createStore } from '../../src/index.js';
import { describeStoreConformance } from './conformance.js';

// Any Keyv instance, or any Keyv storage adapter, is a store.
describeStoreConformance('a user-supplied Keyv instance', { makeStore: () => createStore(new Keyv({ namespace: 'mine' })) });
describeStoreConformance('a bare Keyv adapter (Map)', { makeStore: () => createStore(new Map()) });

describe('store specs', () => {
  it('rejects an unknown URL with the forms it accepts', () => {
    expect(() => createStore('memcached://localhost')).toThrow(/Unknown cache store "memcached:\/\/localhost".*"memory"/);
    expect(() => createCache({ store: 'nope' })).toThrow(/Unknown cache store/);
  });

  it('rejects a malformed Redis URL', () => {
    expect(() => createStore('redis://[bad')).toThrow(/Malformed Redis URL/);
  });

  it('rejects an object that is not a store', () => {
    expect(() => createStore({} as never)).toThrow(/Cannot use \[object Object\] as a cache store/);
  });
});
