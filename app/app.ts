/**
 * The demo site as a factory, so tests can start it in-process on 127.0.0.1:0 and `server.ts`
 * only reads the environment and listens.
 */
import { STATUS_CODES, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import type nunjucks from 'nunjucks';
import { createCache, type Cache } from '../src/index.js';
import { createVarnishPurger } from '../src/http.js';
import { redactUrl } from '../src/stores.js';
import { blogRouter } from './blog.js';
import { CacheActivity } from './dashboard/activity.js';
import { dashboardRouter } from './dashboard/router.js';
import { Database } from './db.js';
import { RequestTracker } from './request-metrics.js';
import { seedIfEmpty, type SeedOptions } from './seed.js';
import { createTemplates } from './templating.js';

export const DEFAULT_DB_PATH = fileURLToPath(new URL('../.data/blog.db', import.meta.url));
export const TEMPLATES_DIR = fileURLToPath(new URL('../templates', import.meta.url));
const PUBLIC_DIR = fileURLToPath(new URL('./public', import.meta.url));

export interface DemoOptions {
  /** Cache store URL: "memory" (default), "sqlite://path", "redis://host:port/db". Ignored when `cache` is given. */
  cacheUrl?: string;
  /** A cache you made; the demo will not close it. */
  cache?: Cache;
  /** Prefix of every cache key (the CLI needs the same one). Default "". */
  keyPrefix?: string;
  /** SQLite file for the blog's data, created and seeded when empty. ":memory:" works. Default `.data/blog.db`. */
  dbPath?: string;
  /** Added to every database query, ms, to imitate a database across a network. Default 0. */
  dbDelayMs?: number;
  /** Size of the seeded blog. */
  seed?: SeedOptions;
  /** When set, the dashboard is open to whoever presents this token (and only to them). */
  dashboardToken?: string | undefined;
  templatesDir?: string;
  /**
   * Varnish in front of the demo (scripts/behind-varnish.sh): pages carry `xkey` tags and
   * `invalidateTags` purges them there too. Ignored when `cache` is given.
   */
  varnishUrl?: string | undefined;
  /** Where warnings go (store errors). Default `console.warn`. */
  warn?: (message: string) => void;
}

export interface Demo {
  app: express.Express;
  cache: Cache;
  db: Database;
  env: nunjucks.Environment;
  activity: CacheActivity;
  /** Whether this start created and seeded the database. */
  seeded: boolean;
  /** Closes the database, and the cache if the demo made it. */
  close(): Promise<void>;
}

export async function createApp(options: DemoOptions = {}): Promise<Demo> {
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const tracker = new RequestTracker();
  const db = await Database.open({
    path: options.dbPath ?? DEFAULT_DB_PATH,
    delayMs: options.dbDelayMs ?? 0,
    onQuery: (_sql, ms) => tracker.recordQuery(ms),
  });
  const seeded = await seedIfEmpty(db, options.seed);

  const ownsCache = options.cache === undefined;
  const cacheUrl = options.cacheUrl ?? 'memory';
  // The cache reports a store that is down (first error, breaker, timeouts) once, through `warn`.
  const purgers = options.varnishUrl ? [createVarnishPurger({ url: options.varnishUrl })] : [];
  const cache = options.cache ?? createCache({ store: cacheUrl, keyPrefix: options.keyPrefix ?? '', logger: { warn }, purgers });
  cache.on('hit', () => tracker.recordLookup('hit'));
  cache.on('miss', () => tracker.recordLookup('miss'));
  cache.on('stale', () => tracker.recordLookup('stale'));
  // A request that joined another's render was served without rendering: a hit for this request.
  cache.on('coalesced', ({ status }) => tracker.recordLookup(status === 'stale' ? 'stale' : 'hit'));

  const env = createTemplates(options.templatesDir ?? TEMPLATES_DIR, cache);
  const activity = new CacheActivity(cache, { source: () => tracker.current()?.source });

  const app = express();
  app.disable('x-powered-by');
  app.use(tracker.middleware());
  app.use('/static', express.static(PUBLIC_DIR, { maxAge: '1h', fallthrough: false }));
  app.get('/favicon.ico', (_req, res) => {
    res.status(204).end();
  });
  app.use(express.urlencoded({ extended: false, limit: '64kb' }));
  app.use('/_cache', dashboardRouter({ cache, env, activity, token: options.dashboardToken, storeLabel: options.cache ? cache.store.kind : redactUrl(cacheUrl) }));
  app.use(blogRouter({ db, cache, env })); // ends with the 404 page
  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // Never the error's own message: express.static's says "ENOENT: no such file or directory,
      // stat '/srv/app/public/…'", which shows where the app lives on disk.
      res.status(status).type('text/plain').send(`${STATUS_CODES[status] ?? 'Bad Request'}.`);
      return;
    }
    warn(`demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    res.status(500).type('text/plain').send('Internal error; see the server log.');
  });

  return {
    app,
    cache,
    db,
    env,
    activity,
    seeded,
    async close() {
      activity.dispose();
      if (ownsCache) await cache.close();
      await db.close();
    },
  };
}

/** Listen on `host:port` (port 0: any free one); resolves with the server and its base URL. */
export function listen(app: express.Express, port = 0, host = '127.0.0.1'): Promise<{ server: Server; url: string }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('error', reject);
    server.once('listening', () => {
      const address = server.address() as AddressInfo;
      const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve({ server, url: `http://${shown}:${address.port}` });
    });
  });
}

/** A store URL fit to show: credentials replaced (the library's one helper, shared with the CLI). */
export { redactUrl };
