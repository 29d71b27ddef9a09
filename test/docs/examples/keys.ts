// #region example
import { Keyv } from 'keyv';
import { createCache, encodeVaryOn, fragmentKey } from '../../../src/index.js';

const raw = new Map<string, unknown>(); // look inside the store
const cache = createCache({ store: new Keyv({ store: raw, namespace: 'njkc' }), keyPrefix: 'blog' });

await cache.getOrSet(fragmentKey('sidebar'), 'html…');
await cache.getOrSet(fragmentKey('post_card', [42, '2026-01-03']), 'html…');
console.log([...raw.keys()].join('\n'));

// Vary-on values are encoded with their types, then hashed:
console.log(encodeVaryOn(['a:b']), encodeVaryOn(['a', 'b']), encodeVaryOn([1]), encodeVaryOn(['1']));
console.log(fragmentKey('f', ['a:b']) === fragmentKey('f', ['a', 'b'])); // false (equal in Django)
console.log(fragmentKey('f', [1]) === fragmentKey('f', ['1'])); // false (equal in Django)
// Keys a store may not take (spaces, control characters, over 200 bytes) are hashed:
console.log(cache.makeKey('a key with spaces'));
// #endregion
