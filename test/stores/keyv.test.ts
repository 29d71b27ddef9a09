import { Keyv } from 'keyv';
import { describe, expect, it, vi } from 'vitest';
import * as vitest from 'vitest';
import { KeyvStore } from '../../src/stores/keyv-store.js';
import { createCache } from '../../src/index.js';
import { createRedisLock, createStore, redactUrl } from '../../src/stores.js';
import { describeStoreConformance } from '../../src/testing.js';

// Any Keyv instance, or any Keyv storage adapter, is a store.
describeStoreConformance(vitest, 'a user-supplied Keyv instance', { makeStore: () => createStore(new Keyv({ namespace: 'mine' })) });
describeStoreConformance(vitest, 'a bare Keyv adapter (Map)', { makeStore: () => createStore(new Map()) });

describe('store specs', () => {
  it('rejects an unknown URL with the forms it accepts', () => {
    expect(() => createStore('memcached://localhost')).toThrow(/Unknown cache store "memcached:\/\/localhost".*"memory"/);
    expect(() => createCache({ store: 'nope' })).toThrow(/Unknown cache store/);
  });

  it('rejects a malformed Redis URL', () => {
    expect(() => createStore('redis://[bad')).toThrow(/Malformed Redis URL/);
  });

  it.each([
    ['a malformed port', 'redis://app:s3cret@127.0.0.1:99999999/0'],
    ['a ?tier= typo', 'redis://:s3cret@127.0.0.1:6379/0?tier=memroy'],
    ['a user-only Redis password', 'redis://s3cret@127.0.0.1:6379/0?tier=disk'],
    ['a cluster URL', 'redis+cluster://app:s3cret@10.0.0.1:7000,not-a-host'],
    ['a PostgreSQL ?password=', 'postgres://app@db:5432/app?password=s3cret&tier=disk'],
    ['an unknown scheme', 'memcached://app:s3cret@cache:11211?token=s3cret'],
  ])('never echoes credentials in an error: %s', (_label, url) => {
    let message = '';
    try {
      createStore(url);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toBe('');
    expect(message).not.toContain('s3cret');
    expect(message).toContain('***');
  });

  it('redactUrl hides userinfo passwords and credential parameters, and leaves the rest readable', () => {
    expect(redactUrl('redis://app:pw@h:6379/0')).toBe('redis://app:***@h:6379/0');
    expect(redactUrl('redis://pw@h:6379')).toBe('redis://***@h:6379');
    expect(redactUrl('postgres://app@db/x?sslmode=require&password=pw&sslpassword=pw2')).toBe('postgres://***@db/x?sslmode=require&password=***&sslpassword=***');
    expect(redactUrl('sqlite:///var/cache/app.db?table=t')).toBe('sqlite:///var/cache/app.db?table=t');
    expect(redactUrl('redis://h:bad-port')).toBe('redis://h:bad-port');
    expect(() => createRedisLock('http://u:pw@h')).toThrow(/got "http:\/\/u:\*\*\*@h"/);
  });

  it('rejects an object that is not a store', () => {
    expect(() => createStore({} as never)).toThrow(/Cannot use \[object Object\] as a cache store/);
  });
});

describe('the sweeper of SQL stores (KeyvStore sweepEveryMs)', () => {
  it('sweeps on its interval once connected, and never after close()', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      let sweeps = 0;
      const store = new KeyvStore({ kind: 'test', connect: async () => new Keyv(), sweep: async () => ++sweeps, sweepEveryMs: 1_000 });
      vi.advanceTimersByTime(5_000);
      expect(sweeps).toBe(0); // not connected yet: no timer
      await store.connect();
      vi.advanceTimersByTime(3_000);
      expect(sweeps).toBe(3);
      await store.close();
      vi.advanceTimersByTime(5_000);
      expect(sweeps).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
