// #region example
import { createCache } from '../../../src/index.js';
import { createEnvironment, render } from '../../../src/nunjucks.js';
import { db } from './db.js'; // your data layer

const cache = createCache({ store: 'memory' }); // or 'sqlite://cache.db', 'redis://127.0.0.1:6379/0'
const env = createEnvironment('templates', { cache, trimBlocks: true, lstripBlocks: true });

// A function, not its result: the template calls it inside the fragment, so only on a miss.
const context = { title: 'Home', recentPosts: () => db.recentPosts() };

const first = await render(env, 'home.njk', context); // miss: queries the database, stores the sidebar
const second = await render(env, 'home.njk', context); // hit: the sidebar comes from the cache

console.log(first === second, db.queries); // true 1
console.log(second);
// #endregion

export { cache, env, first, second };
