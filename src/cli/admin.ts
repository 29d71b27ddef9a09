/** The store commands: invalidate, invalidate-tag, clear, stats, create-table. */
import { formatVaryOn, fragmentKey, parseVaryOn } from '../index.js';
import { redactUrl } from '../stores.js';
import { CliError, count, EXIT_USAGE, formatBytes, formatMs, messageOf, write, type Io } from './io.js';
import { withTimeout } from '../shared/timeout.js';
import { openCache, sqliteFile, storeUrl, type OpenedCache, type StoreFlags } from './store.js';

export interface InvalidateFlags extends StoreFlags {
  rawStrings?: boolean;
}

export async function invalidateCommand(name: string, varyArgs: string[], flags: InvalidateFlags, io: Io): Promise<void> {
  const vary = parseVaryOn(varyArgs, { rawStrings: flags.rawStrings ?? false });
  const opened = await openCache(flags, io, { shared: true, mustExist: true });
  try {
    const key = opened.cache.makeKey(fragmentKey(name, vary));
    const removed = await opened.cache.invalidateFragment(name, vary);
    await reportPurges(opened.cache, flags, io);
    if (removed) {
      await write(io.stdout, `Removed fragment ${name} ${formatVaryOn(vary)} (key ${key}) from ${opened.label}.\n`);
    } else {
      await write(
        io.stdout,
        `Fragment ${name} ${formatVaryOn(vary)} was not in ${opened.label} (key ${key}); nothing to remove.\n` +
          `Vary-on values are read as JSON when they parse: 42 is a number, '"42"' a string (or pass --raw-strings).\n`,
      );
    }
  } finally {
    await opened.close();
  }
}

export async function invalidateTagCommand(tags: string[], flags: StoreFlags, io: Io): Promise<void> {
  const opened = await openCache(flags, io, { shared: true, mustExist: true });
  try {
    await opened.cache.invalidateTags(tags);
    await reportPurges(opened.cache, flags, io);
    await write(io.stdout, `Invalidated ${tags.length === 1 ? 'tag' : 'tags'} ${tags.join(', ')} in ${opened.label}: every entry carrying ${tags.length === 1 ? 'it' : 'one of them'} now misses.\n`);
  } finally {
    await opened.close();
  }
}

/**
 * With --varnish (or $CACHE_VARNISH_URL): wait for the purge `invalidate*` started, and fail the
 * command, naming the cause, when Varnish did not confirm it (the store part is already done).
 */
async function reportPurges(cache: OpenedCache['cache'], flags: StoreFlags, io: Io): Promise<void> {
  const varnish = flags.varnish ?? io.env.CACHE_VARNISH_URL;
  if (varnish === undefined || varnish === '') return;
  let last: unknown;
  cache.on('error', ({ error }) => {
    last = error;
  });
  // The purge queue's retry timers do not hold a process open (an app must be able to exit): a
  // command waiting for them does.
  const alive = setInterval(() => {}, 1_000);
  try {
    await cache.purged();
  } finally {
    clearInterval(alive);
  }
  if (cache.stats().purgesLost > 0) {
    throw new CliError(`the store is invalidated, but Varnish at ${redactUrl(varnish)} did not confirm the purge (${rootCause(last)}). Run the command again once Varnish answers, or its pages stay until their TTL there.`);
  }
  await write(io.stdout, `Purged Varnish at ${redactUrl(varnish)} by the same tags.
`);
}

/** The innermost cause of an error, by code where it has one (ECONNREFUSED, ENOTFOUND…). */
function rootCause(error: unknown): string {
  let at: unknown = error;
  while (typeof at === 'object' && at !== null && 'cause' in at && (at as { cause?: unknown }).cause !== undefined) at = (at as { cause: unknown }).cause;
  const code = typeof at === 'object' && at !== null ? (at as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? `${code}: ${messageOf(at)}` : messageOf(at);
}

export async function clearCommand(flags: StoreFlags, io: Io): Promise<void> {
  const opened = await openCache(flags, io, { shared: true, mustExist: true });
  try {
    const before = await usageOf(opened.cache).catch(() => undefined);
    await opened.cache.clear();
    const held = before?.entries === undefined ? '' : ` (${count(before.entries, 'entry', 'entries')})`;
    await write(io.stdout, `Cleared the cache in ${opened.label}${held}. Keys of other applications in the same store are kept.\n`);
  } finally {
    await opened.close();
  }
}

export interface StatsFlags extends StoreFlags {
  json?: boolean;
  app?: string;
  token?: string;
}

/** What the app's `/_cache/stats.json` holds that `stats` prints. */
interface AppSnapshot {
  overall: { hits: number; misses: number; stale: number; ratio: number | null; savedMs: number; since: number };
  labels: Array<{ name: string; hits: number; misses: number; stale: number; ratio: number | null; savedMs: number }>;
  usage?: { entries?: number; bytes?: number };
}

export async function statsCommand(flags: StatsFlags, io: Io): Promise<void> {
  const url = storeUrl(flags, io);
  const wantStore = !(url === 'memory' && flags.app !== undefined);
  const report: Record<string, unknown> = {};
  const lines: string[] = [];
  if (wantStore) {
    const opened = await openCache(flags, io, { shared: true, mustExist: true });
    try {
      const usage = await usageOf(opened.cache);
      report.store = { url: opened.label, kind: opened.kind, reachable: true, probeMs: round(opened.probeMs ?? 0), ...usage };
      lines.push(
        `store      ${opened.label} (${opened.kind})`,
        `reachable  yes (write/read/delete probe: ${formatMs(opened.probeMs ?? 0)})`,
        `entries    ${usage.entries ?? `unknown (a ${opened.kind} store cannot tell)`}`,
        `bytes      ${usage.bytes === undefined ? `unknown (a ${opened.kind} store cannot tell)` : formatBytes(usage.bytes)}`,
      );
    } finally {
      await opened.close();
    }
  }
  if (flags.app !== undefined) {
    const app = await fetchAppStats(flags.app, flags.token ?? io.env.CACHE_DASHBOARD_TOKEN, flags.timeout);
    report.app = { url: flags.app, ...app };
    lines.push(...appLines(flags.app, app));
  } else {
    lines.push(
      '',
      'Hit and miss counters are not kept in the store: each app process counts its own.',
      "See them on the app's dashboard (/_cache), or pass --app http://127.0.0.1:3000 to read them from a running app.",
    );
  }
  await write(io.stdout, flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${lines.join('\n')}\n`);
}

async function usageOf(cache: { usage(): Promise<{ entries?: number; bytes?: number; maxBytes?: number }> }) {
  return cache.usage();
}

async function fetchAppStats(base: string, token: string | undefined, timeout: string | undefined): Promise<AppSnapshot> {
  let url: URL;
  try {
    url = new URL('_cache/stats.json', base.endsWith('/') ? base : `${base}/`);
  } catch {
    throw new CliError(`--app must be the app's address, such as http://127.0.0.1:3000; got "${base}".`, EXIT_USAGE);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--app must be an http:// or https:// address; got "${base}".`, EXIT_USAGE);
  const ms = timeout === undefined ? 5_000 : Number(timeout);
  let response: Response;
  try {
    response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(ms) });
  } catch (error) {
    throw new CliError(`cannot reach the app at ${url.origin}: ${messageOf((error as { cause?: unknown }).cause ?? error)}`);
  }
  if (response.status === 401 || response.status === 403) {
    throw new CliError(`the app refused ${url.pathname} (HTTP ${response.status}): its dashboard is loopback-only unless it has a token; pass --token or set CACHE_DASHBOARD_TOKEN.`);
  }
  if (!response.ok) throw new CliError(`the app answered ${url} with HTTP ${response.status}.`);
  try {
    return (await response.json()) as AppSnapshot;
  } catch (error) {
    throw new CliError(`the app's ${url.pathname} is not JSON: ${messageOf(error)}`);
  }
}

function appLines(base: string, app: AppSnapshot): string[] {
  const pct = (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(1)} %`);
  const lines = [
    '',
    `app        ${base} (counters since ${new Date(app.overall.since).toISOString()})`,
    `lookups    ${app.overall.hits} hits, ${app.overall.misses} misses, ${app.overall.stale} stale; hit ratio ${pct(app.overall.ratio)}; render time saved ${formatMs(app.overall.savedMs)}`,
  ];
  if (app.labels.length > 0) {
    const width = Math.max(4, ...app.labels.map((l) => l.name.length));
    lines.push('', `${'name'.padEnd(width)}  ${'hits'.padStart(7)}  ${'misses'.padStart(7)}  ${'ratio'.padStart(7)}  saved`);
    for (const l of app.labels) {
      lines.push(`${l.name.padEnd(width)}  ${String(l.hits).padStart(7)}  ${String(l.misses).padStart(7)}  ${pct(l.ratio).padStart(7)}  ${formatMs(l.savedMs)}`);
    }
  }
  return lines;
}

export async function createTableCommand(flags: StoreFlags, io: Io): Promise<void> {
  const opened = await openCache(flags, io, { probe: false });
  try {
    const store = opened.cache.store;
    if (store.createTable === undefined) {
      await write(io.stdout, `Nothing to do: a ${opened.kind} store needs no table.\n`);
      return;
    }
    try {
      await withTimeout(store.createTable(), opened.timeoutMs, 'create-table', `no answer within ${opened.timeoutMs} ms`);
    } catch (error) {
      throw new CliError(`cannot create the cache table in ${opened.label}: ${messageOf(error)}`, 1, { cause: error });
    }
    const url = storeUrl(flags, io);
    const table = new URLSearchParams(url.split('?')[1] ?? '').get('table');
    const where = sqliteFile(url, io.cwd) ?? opened.label;
    await write(io.stdout, `The cache table${table === null ? '' : ` ${table}`} is ready in ${where} (created if it did not exist).\n`);
  } finally {
    await opened.close();
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
