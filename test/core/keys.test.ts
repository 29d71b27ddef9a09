import { describe, expect, it } from 'vitest';
import { fragmentKey, makeKey, viewKey } from '../../src/index.js';

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
