// #region example
import express from 'express';
import { createCache } from '../../../src/index.js';
import { createEnvironment, renderView } from '../../../src/nunjucks.js';
import { db } from './db.js';

const cache = createCache({ store: 'sqlite://cache.db' });
const env = createEnvironment('templates', { cache, trimBlocks: true, lstripBlocks: true });
const app = express();

app.get('/posts/:id', async (req, res) => {
  const id = Number(req.params.id);
  // The loader, not the post: on a hit the template does not render and the query does not run.
  const html = await renderView(env, 'post.njk', { loadPost: () => db.post(id) }, { key: id, ttl: 600 });
  res.send(html);
});

// Where posts are saved:
async function savePost(id: number, title: string) {
  await db.updatePost(id, title);
  await cache.invalidateView('post.njk', id);
}

// At shutdown: an open store connection keeps the process alive.
async function shutdown() {
  await cache.close();
}
// #endregion

export { app, cache, env, savePost, shutdown };
