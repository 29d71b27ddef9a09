// #region example
import express from 'express';
import nunjucks from 'nunjucks';
import { createCache } from '../../../src/index.js';
import { installCache } from '../../../src/nunjucks.js';

const app = express();
const env = nunjucks.configure('templates', { autoescape: true, express: app }); // your existing setup
const cache = createCache({ store: 'sqlite://cache.db' });
installCache(env, cache); // adds {% cache %} and the | resolve filter to this Environment

app.get('/hello', (req, res) => {
  res.render('hello.njk', { name: String(req.query.name ?? 'world') });
});

// At shutdown: an open store connection keeps the process alive.
async function shutdown() {
  await cache.close();
}
// #endregion

export { app, cache, env, shutdown };
