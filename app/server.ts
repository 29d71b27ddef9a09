/**
 * `npm start`: the demo blog on http://127.0.0.1:3000.
 *
 *   PORT, HOST            where to listen (default 3000, 127.0.0.1)
 *   CACHE_URL             cache store: memory (default), sqlite://.data/cache.db, redis://127.0.0.1:6379/0
 *   CACHE_KEY_PREFIX      prefix of every cache key (give the CLI the same one)
 *   DB_PATH               the blog's SQLite database (default .data/blog.db; created and seeded on first start)
 *   DEMO_DB_DELAY_MS      added to every query, to imitate a database across a network (default 0)
 *   CACHE_DASHBOARD_TOKEN open /_cache to anyone with this token (default: loopback clients only)
 *   VARNISH_URL           Varnish in front of the demo (npm run start:varnish sets it): purged by tag
 */
import { createApp, DEFAULT_DB_PATH, listen, redactUrl } from './app.js';

function number(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) {
    console.error(`${name} must be a whole number; got "${raw}".`);
    process.exit(2);
  }
  return Number(raw);
}

const port = number('PORT', 3000);
const host = process.env.HOST || '127.0.0.1';
const cacheUrl = process.env.CACHE_URL || 'memory';
const dbPath = process.env.DB_PATH || DEFAULT_DB_PATH;

let demo;
try {
  demo = await createApp({
    cacheUrl,
    keyPrefix: process.env.CACHE_KEY_PREFIX ?? '',
    dbPath,
    dbDelayMs: number('DEMO_DB_DELAY_MS', 0),
    dashboardToken: process.env.CACHE_DASHBOARD_TOKEN || undefined,
    varnishUrl: process.env.VARNISH_URL || undefined,
  });
} catch (error) {
  console.error(`Cannot start the demo: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const { server, url } = await listen(demo.app, port, host).catch((error: NodeJS.ErrnoException) => {
  const hint = error.code === 'EADDRINUSE' ? ` Port ${port} is taken: set PORT to another one (PORT=3001 npm start).` : '';
  console.error(`Cannot listen on ${host}:${port}: ${error.message}.${hint}`);
  process.exit(1);
});

console.log(`Demo blog on ${url}  (cache dashboard: ${url}/_cache)`);
console.log(`  cache store: ${redactUrl(cacheUrl)}`);
console.log(`  database:    ${dbPath}${demo.seeded ? ' (created and seeded just now)' : ''}`);
console.log('  Open the developer tools (Network → a page → Timing) to see Server-Timing: queries, fragment hits and misses.');

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping.`);
  server.close();
  server.closeAllConnections();
  void demo.close().finally(() => process.exit(0));
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
