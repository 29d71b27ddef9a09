import { describe, expect, it } from 'vitest';
import { formatVaryOn, fragmentKey, parseVaryOn } from '../../src/index.js';

describe('vary-on values typed by a person', () => {
  it('are JSON values when they parse, strings otherwise', () => {
    expect(parseVaryOn(['42', '"42"', 'hello', 'true', 'null', '[1,2]', '{"a":1}', '1e3', '-1', 'post:42'])).toEqual([42, '42', 'hello', true, null, [1, 2], { a: 1 }, 1000, -1, 'post:42']);
  });

  it('are all strings with rawStrings (--raw-strings)', () => {
    expect(parseVaryOn(['42', '"42"', 'true'], { rawStrings: true })).toEqual(['42', '"42"', 'true']);
  });

  it('give the key the template made: `invalidate card 42` for <% cache 600 card post.id %> with post.id = 42', () => {
    expect(fragmentKey('card', parseVaryOn(['42']))).toBe(fragmentKey('card', [42]));
    expect(fragmentKey('card', parseVaryOn(['"42"']))).toBe(fragmentKey('card', ['42']));
    expect(fragmentKey('card', parseVaryOn(['42'], { rawStrings: true }))).toBe(fragmentKey('card', ['42']));
    expect(fragmentKey('card', parseVaryOn(['42']))).not.toBe(fragmentKey('card', ['42']));
  });

  it('split from one form field on spaces, keeping quoted JSON strings whole', () => {
    expect(parseVaryOn(' 42  "hello world" x ')).toEqual([42, 'hello world', 'x']);
    expect(parseVaryOn(' 42  "hello world" x ', { rawStrings: true })).toEqual(['42', '"hello world"', 'x']);
    expect(parseVaryOn('"a \\" b" c')).toEqual(['a " b', 'c']);
    expect(parseVaryOn('   ')).toEqual([]);
  });

  it('are shown back as JSON, so 42 and "42" look different', () => {
    expect(formatVaryOn([42, '42', null, undefined])).toBe('[42, "42", null, undefined]');
  });
});
