import { describe, expect, it } from 'vitest';
import { createCache, fragmentKey, viewKey } from '../../src/index.js';
import { createStore } from '../../src/stores.js';
import { makeKey } from '../../src/core/keys.js';

describe('fragmentKey', () => {
  it('is the bare name without vary-on values', () => {
    expect(fragmentKey('sidebar')).toBe('fragment:sidebar');
  });

  it('never lets different vary-on values share a key, where Django\'s ":"-join would', () => {
    const variants: unknown[][] = [[1], ['1'], [true], ['true'], [null], [undefined], ['a:b'], ['a', 'b'], [['a', 'b']], [1, 2], [12], ['1', 2], [{ a: 1 }], [{ a: '1' }], [new Date(0)], [0]];
    const keys = variants.map((v) => fragmentKey('card', v));
    expect(new Set(keys).size).toBe(variants.length);
  });

  it('tells Maps and Sets apart by their contents', () => {
    expect(fragmentKey('f', [new Map([['a', 1]])])).not.toBe(fragmentKey('f', [new Map([['b', 2]])]));
    expect(fragmentKey('f', [new Set([1])])).not.toBe(fragmentKey('f', [new Set(['1'])]));
    expect(fragmentKey('f', [new Map([['a', 1]])])).toBe(fragmentKey('f', [new Map([['a', 1]])]));
  });

  it('refuses values that would all share one key: private-field instances, functions, symbols', () => {
    class User {
      readonly #id: number;
      constructor(id: number) {
        this.#id = id;
      }
      get id(): number {
        return this.#id;
      }
    }
    expect(() => fragmentKey('profile', [new User(1)])).toThrow(/Cannot vary a cache key on an instance of User with no visible fields[\s\S]*user\.id/);
    expect(() => fragmentKey('f', [() => 1])).toThrow(/Cannot vary a cache key on a function/);
    expect(() => fragmentKey('f', [Symbol('s')])).toThrow(/Cannot vary a cache key on a symbol/);
    // a class instance with public fields is fine
    class Point {
      constructor(readonly x: number) {}
    }
    expect(fragmentKey('f', [new Point(1)])).not.toBe(fragmentKey('f', [new Point(2)]));
  });

  it('keys bytes by their bytes: binary ids that are not valid UTF-8 never share a key', () => {
    // 16-byte binary UUIDs as mysql2 returns BINARY(16): they differ only in bytes that are not UTF-8.
    const a = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const b = Buffer.from('00112233445566778899aabbccddeefe', 'hex');
    expect(fragmentKey('profile', [a])).not.toBe(fragmentKey('profile', [b]));
    expect(fragmentKey('profile', [new Uint8Array([0xff, 0xfe])])).not.toBe(fragmentKey('profile', [new Uint8Array([0xfe, 0xff])]));
    expect(fragmentKey('profile', [{ id: a }])).not.toBe(fragmentKey('profile', [{ id: b }]));
    // the same bytes, the same key; a view of other bytes, another key
    expect(fragmentKey('profile', [Buffer.from(a)])).toBe(fragmentKey('profile', [a]));
    expect(fragmentKey('profile', [a.subarray(0, 8)])).not.toBe(fragmentKey('profile', [a]));
    expect(fragmentKey('profile', [new Uint16Array([1])])).not.toBe(fragmentKey('profile', [new Uint8Array([1, 0])]));
  });

  it('refuses objects whose identity Object.keys does not show, instead of keying what is left', () => {
    const role = Symbol('role');
    expect(() => fragmentKey('f', [{ name: 'x', [role]: 'admin' }])).toThrow(/Cannot vary a cache key on an object with symbol keys/);
    const hidden = Object.defineProperty({ name: 'x' }, 'id', { value: 1, enumerable: false });
    expect(() => fragmentKey('f', [hidden])).toThrow(/Cannot vary a cache key on an object with non-enumerable properties/);
    class Account {
      readonly #id: number;
      readonly kind = 'account';
      constructor(id: number) {
        this.#id = id;
      }
      same(other: Account): boolean {
        return other.#id === this.#id;
      }
    }
    expect(() => fragmentKey('f', [new Account(1)])).toThrow(/Cannot vary a cache key on an instance of Account, which keeps #private fields beside its visible fields[\s\S]*user\.id/);
    class Temperature {
      constructor(readonly unit: string, private readonly kelvin: number) {}
      get celsius(): number {
        return this.kelvin - 273.15;
      }
    }
    // `kelvin` is an ordinary (enumerable) field here, but the getter marks hidden state all the same
    expect(() => fragmentKey('f', [new Temperature('C', 300)])).toThrow(/instance of Temperature, which keeps a getter "celsius"/);
  });

  it('gives the same key for the same values, memoised or not, and for equal objects', () => {
    const first = fragmentKey('card', [7, 'en', 3.5]);
    expect(fragmentKey('card', [7, 'en', 3.5])).toBe(first);
    expect(fragmentKey('card', [{ b: 2, a: 1 }])).toBe(fragmentKey('card', [{ a: 1, b: 2 }]));
    expect(fragmentKey('card', [7])).not.toBe(fragmentKey('cards', [7]));
  });
});

describe('makeKey and viewKey', () => {
  it('draws prefix:version:key and hashes what a backend cannot take', () => {
    expect(makeKey('k', 'site', 2)).toBe('site:2:k');
    expect(makeKey('a key', 'site', 2)).toMatch(/^site:2:#[0-9a-f]{64}$/);
    expect(makeKey('x'.repeat(300), '', 1)).toMatch(/^:1:#[0-9a-f]{64}$/);
    expect(makeKey('#not-hashed-yet', '', 1)).toMatch(/^:1:#[0-9a-f]{64}$/);
    expect(viewKey('posts/show.njk', 42)).toBe('view:posts%2Fshow.njk:42');
    expect(viewKey('a:b')).not.toBe(viewKey('a', 'b'));
  });
});

describe('key prefixes', () => {
  it('never lets a prefix that contains the separator pass for prefix plus version', async () => {
    const store = createStore('memory');
    const a = createCache({ store, keyPrefix: 'app:2' });
    const b = createCache({ store, keyPrefix: 'app', version: 2 });
    expect(a.makeKey('x')).not.toBe(b.makeKey('1:x'));
    await a.set('x', 'from a');
    expect(await b.get('1:x', 'MISS')).toBe('MISS');
    await b.set('1:x', 'from b');
    expect(await a.get('x')).toBe('from a');
    // prefixes without ":" or "%" are written as they are
    expect(makeKey('k', 'site', 2)).toBe('site:2:k');
    expect(makeKey('k', 'app:2', 1)).toBe('app%3A2:1:k');
    expect(makeKey('k', '50%:x', 1)).toBe('50%25%3Ax:1:k');
  });
});
