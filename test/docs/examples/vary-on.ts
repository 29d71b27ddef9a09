// #region example
import { createCache, fragmentKey } from '../../../src/index.js';
import { createEnvironment, render } from '../../../src/nunjucks.js';
import { db } from './db.js';

const cache = createCache();
const env = createEnvironment('templates', { cache });
cache.on('miss', ({ key }) => console.log('miss', key));
cache.on('hit', ({ key }) => console.log('hit ', key));

let post = await db.post(2);
await render(env, 'card.njk', { post }); // miss: first render
await render(env, 'card.njk', { post }); // hit

post = await db.updatePost(2, 'Lazy data, revised'); // updatedAt changes...
console.log(await render(env, 'card.njk', { post })); // ...so the key changes: a miss, new HTML

// The key the tag used, rebuilt in code (Django's make_template_fragment_key):
console.log(fragmentKey('post_card', [post!.id, post!.updatedAt]));
console.log(await cache.invalidateFragment('post_card', [post!.id, post!.updatedAt])); // true: removed
// #endregion
