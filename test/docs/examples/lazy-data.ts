// #region example
import { createCache } from '../../../src/index.js';
import { createEnvironment, render } from '../../../src/nunjucks.js';
import { db } from './db.js';

const cache = createCache();
const env = createEnvironment('templates', { cache, trimBlocks: true, lstripBlocks: true });

// Eager: the query runs before the template, on every request, hit or miss.
for (let i = 0; i < 3; i++) {
  await render(env, 'posts-eager.njk', { posts: await db.recentPosts() });
}
console.log('eager:', db.queries, 'queries');

db.queries = 0;
// Lazy: hand the template the loader; `| resolve` calls it inside the fragment, only on a miss.
for (let i = 0; i < 3; i++) {
  await render(env, 'posts-lazy.njk', { loadPosts: () => db.recentPosts() });
}
console.log('lazy:', db.queries, 'query');
console.log(await render(env, 'posts-lazy.njk', { loadPosts: () => db.recentPosts() }));
// #endregion

export { cache };
