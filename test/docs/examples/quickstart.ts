// The README's quickstart, run as a script by test/docs/readme.test.ts: it must exit by itself.
import { db } from './db.js';
// #region example
import { createCache } from '../../../src/index.js';
import { createEnvironment, render } from '../../../src/nunjucks.js';

const cache = createCache({ store: process.env.CACHE_URL ?? 'redis://127.0.0.1:6379' }); // or 'memory', 'sqlite://cache.db'
await cache.connect(); // optional: at start-up, fail fast (and say why) if the store cannot be reached
const env = createEnvironment('templates', { cache, trimBlocks: true, lstripBlocks: true }); // <% %> block tags, {{ }} variables

// templates/home.njk:
//   <h1>{{ title }}</h1>
//   <% cache 600 sidebar %>
//   <ul>
//     <% for post in recentPosts | resolve %>
//     <li><a href="/posts/{{ post.id }}">{{ post.title }}</a></li>
//     <% endfor %>
//   </ul>
//   <% endcache %>
const context = { title: 'Home', recentPosts: () => db.recentPosts() }; // a loader: runs only on a miss

await cache.invalidateFragment('sidebar'); // one fragment (here: start from a cold cache)
await render(env, 'home.njk', context); // miss: one query, the sidebar is stored
const html = await render(env, 'home.njk', context); // hit: no query
console.log(html.includes('Caching fragments'), db.queries); // true 1

await cache.invalidateTags(['posts']); // every entry tagged "posts", in one store write
await cache.close(); // closes the store's connection, so the script exits
// #endregion
