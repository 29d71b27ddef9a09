/**
 * The cache dashboard at `/_cache`: counters overall and per fragment name, store usage, a chart of
 * hits and misses, recent invalidations, and forms to invalidate a fragment, a tag, or everything.
 *
 * Access: without a token, only loopback clients that did not come through a proxy and that name
 * this machine in `Host` (a page elsewhere cannot reach it by DNS rebinding); with a token,
 * everyone who presents it (`Authorization: Bearer …`, or `?token=…` once, which sets a cookie).
 * Actions are POST-only and need the CSRF token of the page's forms. Nothing here is ever cached.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type nunjucks from 'nunjucks';
import { formatVaryOn, parseVaryOn, type Cache, type CacheTypes } from '../../src/index.js';
import { render } from '../../src/nunjucks.js';
import { CSRF_FIELD, cookie, csrfToken, isLoopback, isLoopbackHost, isProxied, requireCsrf, sameSecret, setCookie } from '../security.js';
import type { CacheActivity } from './activity.js';
import { CHART_COLOURS, chartAxis, hitMissChart } from './chart.js';

export interface DashboardOptions {
  cache: Cache;
  env: nunjucks.Environment;
  activity: CacheActivity;
  /** When set, the dashboard is served to whoever presents it, and only to them. */
  token?: string | undefined;
  /** The store, for people, without credentials ("redis://127.0.0.1:6379/0"). */
  storeLabel: string;
}

const TOKEN_COOKIE = 'njkc_dashboard';

export interface LabelRow extends CacheTypes.LabelStats {
  name: string;
  /** "fragment", or "view"/"page"/"data" for labels with those prefixes. */
  kind: string;
  lookups: number;
  ratio: number | null;
  avgRenderMs: number | null;
}

export function dashboardRouter(options: DashboardOptions): Router {
  const { cache, env, activity } = options;
  const router = express.Router();
  router.use(noStore);
  router.use(accessControl(options.token));
  router.use(express.urlencoded({ extended: false, limit: '16kb' }));

  router.get('/', async (req, res) => {
    const model = await snapshot(cache, activity, options.storeLabel);
    const html = await render(env, 'dashboard.njk', {
      ...model,
      chart: env.getFilter('safe')(hitMissChart(model.series, { bucketMs: activity.bucketMs })),
      axis: env.getFilter('safe')(chartAxis(model.series, { bucketMs: activity.bucketMs })),
      colours: CHART_COLOURS,
      csrf: csrfToken(req, res),
      csrfField: CSRF_FIELD,
      notice: notice(req.query),
      base: req.baseUrl,
    });
    res.type('html').send(html);
  });

  router.get('/stats.json', async (_req, res) => {
    res.json(await snapshot(cache, activity, options.storeLabel));
  });

  action(router, '/invalidate-fragment', async (req) => {
    const name = field(req, 'name');
    if (name === '') return { done: 'error', detail: 'Give a fragment name.' };
    const vary = parseVaryOn(field(req, 'vary'), { rawStrings: field(req, 'raw') === '1' });
    const removed = await cache.invalidateFragment(name, vary);
    return { done: removed ? 'fragment' : 'fragment-absent', detail: `${name} ${formatVaryOn(vary)}` };
  });

  action(router, '/invalidate-tag', async (req) => {
    const tags = field(req, 'tag').split(/[\s,]+/).filter(Boolean);
    if (tags.length === 0) return { done: 'error', detail: 'Give a tag.' };
    await cache.invalidateTags(tags);
    return { done: 'tag', detail: tags.join(', ') };
  });

  // Two steps: the first POST only asks; the confirming form sends confirm=yes.
  action(router, '/clear', async (req) => {
    if (field(req, 'confirm') !== 'yes') return { done: 'confirm-clear', detail: '' };
    await cache.clear();
    return { done: 'clear', detail: '' };
  });

  return router;
}

function noStore(_req: Request, res: Response, next: NextFunction): void {
  res.set('Cache-Control', 'no-store');
  next();
}

function accessControl(token: string | undefined) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (token === undefined || token === '') {
      if (isLoopback(req.socket.remoteAddress) && !isProxied(req)) {
        if (isLoopbackHost(req.headers.host)) return next();
        res.status(403).type('text/plain').send('Forbidden: without a token the cache dashboard answers only to a loopback host name (localhost, 127.0.0.1, [::1]) in the Host header.');
        return;
      }
      res
        .status(403)
        .type('text/plain')
        .send('Forbidden: the cache dashboard is served only to loopback clients (and not through a proxy). Set CACHE_DASHBOARD_TOKEN to open it to others with a token.');
      return;
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1];
    const presented = bearer ?? cookie(req, TOKEN_COOKIE);
    if (presented !== undefined && sameSecret(presented, token)) return next();
    const fromQuery = req.query.token;
    if (req.method === 'GET' && typeof fromQuery === 'string' && sameSecret(fromQuery, token)) {
      // Keep the token out of the address bar, history and logs from now on.
      setCookie(res, TOKEN_COOKIE, token, { sameSite: 'Strict', path: req.baseUrl || '/' });
      res.redirect(303, `${req.baseUrl}${req.path === '/' ? '' : req.path}`);
      return;
    }
    res
      .status(401)
      .set('WWW-Authenticate', 'Bearer realm="cache dashboard"')
      .type('text/plain')
      .send('Unauthorized: this dashboard needs its token. Open /_cache?token=YOUR_TOKEN once in the browser, or send "Authorization: Bearer YOUR_TOKEN".');
  };
}

interface Outcome {
  done: string;
  detail: string;
}

/** A POST-only action behind the CSRF check; other methods get 405. Redirects back with a notice. */
function action(router: Router, path: string, handler: (req: Request) => Promise<Outcome>): void {
  router.post(path, requireCsrf, async (req, res) => {
    const outcome = await handler(req);
    const query = new URLSearchParams({ done: outcome.done, detail: outcome.detail });
    res.redirect(303, `${req.baseUrl}/?${query.toString()}`);
  });
  router.all(path, (_req, res) => {
    res.status(405).set('Allow', 'POST').type('text/plain').send('Method Not Allowed: this action takes a POST from the dashboard form.');
  });
}

function field(req: Request, name: string): string {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.trim() : '';
}

const NOTICES: Record<string, (detail: string) => string> = {
  fragment: (d) => `Invalidated fragment ${d}.`,
  'fragment-absent': (d) => `Fragment ${d} was not in the cache (nothing to remove). Check the name and the vary-on values: 42 is a number, "42" a string.`,
  tag: (d) => `Invalidated every entry tagged ${d}.`,
  clear: () => 'Cleared the whole cache.',
  'confirm-clear': () => 'Clear the whole cache? Every entry in the store goes, for every process that shares it; pages render uncached until they are stored again.',
  error: (d) => d,
};

function notice(query: Request['query']): { text: string; error: boolean; confirmClear: boolean } | undefined {
  const done = typeof query.done === 'string' ? query.done : undefined;
  const detail = typeof query.detail === 'string' ? query.detail.slice(0, 300) : '';
  const make = done === undefined ? undefined : NOTICES[done];
  return make === undefined ? undefined : { text: make(detail), error: done === 'error', confirmClear: done === 'confirm-clear' };
}

function kindOf(label: string): string {
  const prefix = /^(view|page|data):/.exec(label)?.[1];
  return prefix ?? 'fragment';
}

function ratio(stats: CacheTypes.LabelStats): number | null {
  const served = stats.hits + stats.stale;
  const lookups = served + stats.misses;
  return lookups === 0 ? null : served / lookups;
}

/** Everything the dashboard shows, as plain data (also served as `/_cache/stats.json`). */
export async function snapshot(cache: Cache, activity: CacheActivity, storeLabel: string) {
  const stats = cache.stats();
  let usage: { entries?: number; bytes?: number; maxBytes?: number } = {};
  let usageError: string | undefined;
  try {
    usage = await cache.usage();
  } catch (error) {
    usageError = error instanceof Error ? error.message : String(error);
  }
  const labels: LabelRow[] = Object.entries(stats.byLabel)
    .map(([name, s]) => ({
      name,
      kind: kindOf(name),
      ...s,
      lookups: s.hits + s.misses + s.stale,
      ratio: ratio(s),
      avgRenderMs: s.renders === 0 ? null : s.renderMs / s.renders,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const { byLabel: _byLabel, ...overall } = stats;
  return {
    store: { kind: cache.store.kind, label: storeLabel },
    overall: { ...overall, lookups: stats.hits + stats.misses + stats.stale, ratio: ratio(stats) },
    labels,
    usage,
    usageError,
    series: activity.series(),
    bucketMs: activity.bucketMs,
    invalidations: activity.invalidations(),
  };
}
