// #region example
import { createCache } from '../../../src/index.js';
import { createEnvironment, render } from '../../../src/nunjucks.js';
import { db } from './db.js';

const cache = createCache();
const env = createEnvironment('templates', { cache, trimBlocks: true, lstripBlocks: true });

const html = await render(env, 'dashboard.njk', {
  user: { id: 7 },
  loadProfile: async (id: number) => ({ id, name: 'Ada' }), // called as loadProfile(user.id)
  unread: Promise.resolve(2), // a promise is awaited as is
  loadPosts: (limit: number) => db.recentPosts(limit), // called as loadPosts(2)
});
console.log(html);
// #endregion
