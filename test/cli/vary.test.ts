import { describe, expect, it } from 'vitest';
import { fragmentKey } from '../../src/index.js';
import { formatVary, parseVaryArgs, splitVaryInput } from '../../src/core/vary-input.js';

describe('vary-on values from a command line', () => {
  it('are JSON values when they parse, strings otherwise', () => {
    expect(parseVaryArgs(['42', '"42"', 'hello', 'true', 'null', '[1,2]', '{"a":1}', '1e3', '-1', 'post:42'])).toEqual([42, '42', 'hello', true, null, [1, 2], { a: 1 }, 1000, -1, 'post:42']);
  });

  it('are all strings with --raw-strings', () => {
    expect(parseVaryArgs(['42', '"42"', 'true'], { rawStrings: true })).toEqual(['42', '"42"', 'true']);
  });

  it('give the key the template made: `invalidate card 42` for <% cache 600 card post.id %> with post.id = 42', () => {
    expect(fragmentKey('card', parseVaryArgs(['42']))).toBe(fragmentKey('card', [42]));
    expect(fragmentKey('card', parseVaryArgs(['"42"']))).toBe(fragmentKey('card', ['42']));
    expect(fragmentKey('card', parseVaryArgs(['42'], { rawStrings: true }))).toBe(fragmentKey('card', ['42']));
    expect(fragmentKey('card', parseVaryArgs(['42']))).not.toBe(fragmentKey('card', ['42']));
  });

  it('split from one form field on spaces, keeping quoted JSON strings whole', () => {
    expect(splitVaryInput(' 42  "hello world" x ')).toEqual(['42', '"hello world"', 'x']);
    expect(splitVaryInput('"a \\" b" c')).toEqual(['"a \\" b"', 'c']);
    expect(splitVaryInput('   ')).toEqual([]);
  });

  it('are shown back as JSON, so 42 and "42" look different', () => {
    expect(formatVary([42, '42', null, undefined])).toBe('[42, "42", null, undefined]');
  });
});
