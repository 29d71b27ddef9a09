// #region example
import { createCache } from '../../../src/index.js';
import { createEnvironment, render } from '../../../src/nunjucks.js';
import { db } from './db.js';

const cache = createCache();
cache.on('miss', ({ label, key }) => console.log('miss', label, key));
cache.on('hit', ({ label, key }) => console.log('hit ', label, key));
cache.on('invalidate', ({ kind, keys, tags }) => console.log('invalidate', kind, tags ?? keys));
const env = createEnvironment('templates', { cache });

const post = await db.post(1);
await render(env, 'card.njk', { post });
await render(env, 'card.njk', { post });
await cache.invalidateFragment('post_card', [post!.id, post!.updatedAt]);

const { hits, misses, renders, sets, deletes, invalidations, errors, byLabel } = cache.stats();
console.log({ hits, misses, renders, sets, deletes, invalidations, errors });
console.log(Object.keys(byLabel), byLabel.post_card!.hits); // per fragment name
console.log(await cache.usage()); // what the store holds, where it can tell
// #endregion
