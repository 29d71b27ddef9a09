// #region example
import { createCache, viewKey } from '../../../src/index.js';
import { createEnvironment, renderView } from '../../../src/nunjucks.js';
import { db } from './db.js';

const cache = createCache();
const env = createEnvironment('templates', { cache, trimBlocks: true, lstripBlocks: true });
const context = { loadPost: () => db.post(2) };

// The version is part of the key: version 2 does not see what version 1 stored.
await renderView(env, 'post.njk', context, { key: 2, version: 1 });
await renderView(env, 'post.njk', context, { key: 2, version: 1 }); // hit
await renderView(env, 'post.njk', context, { key: 2, version: 2 }); // miss: a new key
console.log(db.queries); // 2

console.log(cache.makeKey(viewKey('post.njk', 2), 2)); // what the store holds for version 2
// #endregion
