// #region example
import { cacheable, createCache } from '../../../src/index.js';
import { createEnvironment, render } from '../../../src/nunjucks.js';
import { db } from './db.js';

const cache = createCache();
const env = createEnvironment('templates', { cache, trimBlocks: true, lstripBlocks: true });
const log: string[] = [];
cache.on('miss', ({ label }) => log.push(`miss ${label}`));
cache.on('hit', ({ label }) => log.push(`hit ${label}`));
const page = () => render(env, 'post-list.njk', { loadPosts: () => db.recentPosts() });

await page(); // everything misses: 1 list + 3 cards
await db.updatePost(2, 'Lazy data, revised');
log.length = 0;
console.log(await page()); // the outer fragment hits: the inner ones are not even looked at
console.log(log.join(', '));
// #endregion

// #region tagged
const tagged = () => render(env, 'post-list-tagged.njk', { loadPosts: () => db.recentPosts() });
await tagged();
await db.updatePost(3, 'Caching fragments, revised');
await cache.invalidateTags(['post:3']); // from the code that saved the post
log.length = 0;
console.log(await tagged());
console.log(log.join(', '));
// #endregion

// #region declared
// The data layer says what its data depends on; templates need not name any tag.
const loadPost = async (id: number) => cacheable(await db.post(id), { tags: [`post:${id}`] });
const box = () => render(env, 'post-declared.njk', { loadPost });
await box();
await db.updatePost(1, 'Hello again');
await cache.invalidateTags(['post:1']);
log.length = 0;
console.log(await box());
console.log(log.join(', '));
// #endregion
