/**
 * Opening the cache a command works on. The cache fails open by design (a store error reads as a
 * miss), which is right for an app and wrong for an operator: here every store error must be seen.
 * So the CLI's cache has `failOpen: false`, and a write/read/delete probe checks the store answers
 * before a command reports anything.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { CacheError, createCache, StoreConnectError, type Cache } from '../index.js';
import { createVarnishPurger } from '../http.js';
import { createStore, redactUrl } from '../stores.js';
import { withTimeout } from '../shared/timeout.js';
import { CliError, EXIT_USAGE, messageOf, type Io } from './io.js';

export interface StoreFlags {
  store?: string;
  keyPrefix?: string;
  keyVersion?: string;
  timeout?: string;
  /** A Varnish to purge by tag after an invalidation (xkey; docs/varnish.vcl). */
  varnish?: string;
}

export interface OpenOptions {
  /** The command changes or reads a store shared with the app: a memory store cannot be that. */
  shared?: boolean;
  /** A SQLite file must already exist (reading or invalidating a typo'd path must not create it). */
  mustExist?: boolean;
  /** Check that the store answers before going on. Default true. */
  probe?: boolean;
}

export interface OpenedCache {
  cache: Cache;
  /** The URL as given, with any password hidden. */
  label: string;
  kind: string;
  /** How long the probe took, ms. */
  probeMs: number | undefined;
  timeoutMs: number;
  close(): Promise<void>;
}

export const DEFAULT_TIMEOUT_MS = 5_000;

export function storeUrl(flags: StoreFlags, io: Io): string {
  const url = flags.store ?? io.env.CACHE_URL;
  return url === undefined || url.trim() === '' ? 'memory' : url.trim();
}

export function timeoutOf(flags: StoreFlags): number {
  if (flags.timeout === undefined) return DEFAULT_TIMEOUT_MS;
  if (!/^\d+$/.test(flags.timeout) || Number(flags.timeout) === 0) {
    throw new CliError(`--timeout must be a whole number of milliseconds above 0; got "${flags.timeout}".`, EXIT_USAGE);
  }
  return Number(flags.timeout);
}

/** The file a `sqlite://` URL names, resolved against `cwd`; undefined for other URLs and `:memory:`. */
export function sqliteFile(url: string, cwd: string): string | undefined {
  if (!/^sqlite:\/\//i.test(url)) return undefined;
  const path = decodeURIComponent(url.slice('sqlite://'.length).split('?')[0] ?? '');
  if (path === '' || path === ':memory:') return undefined;
  return isAbsolute(path) ? path : resolve(cwd, path);
}

const MEMORY_IS_PRIVATE =
  'the "memory" store lives inside each process, so njk-cache cannot see or change an app\'s memory cache. ' +
  'Point --store (or CACHE_URL) at the store the app shares, such as sqlite://.data/cache.db or redis://127.0.0.1:6379/0, ' +
  "or use the app's dashboard at /_cache.";

/** Fail early (exit 2) on a store URL that names no store, before any other check or connection. */
export async function checkStoreUrl(flags: StoreFlags, io: Io): Promise<void> {
  const url = storeUrl(flags, io);
  try {
    await createStore(url).close(); // builds the store object only; nothing connects
  } catch (error) {
    if (error instanceof CacheError || error instanceof RangeError) throw new CliError(`bad store URL: ${error.message}`, EXIT_USAGE, { cause: error });
    throw error;
  }
}

export async function openCache(flags: StoreFlags, io: Io, options: OpenOptions = {}): Promise<OpenedCache> {
  const url = storeUrl(flags, io);
  const label = redactUrl(url);
  const timeoutMs = timeoutOf(flags);
  const file = sqliteFile(url, io.cwd);
  if (options.mustExist && file !== undefined && !existsSync(file)) {
    throw new CliError(`no SQLite cache at ${file} (from --store ${label}). Check the path; "njk-cache create-table --store ${label}" creates it.`);
  }
  let cache: Cache;
  try {
    // No breaker: a CLI run is a handful of calls, each must report its own failure.
    const version = flags.keyVersion ?? io.env.CACHE_KEY_VERSION;
    if (version !== undefined && !/^-?\d+$/.test(version)) throw new CliError(`--key-version must be a whole number (the cache's "version" option); got "${version}".`, EXIT_USAGE);
    const varnish = flags.varnish ?? io.env.CACHE_VARNISH_URL;
    const purgers = varnish === undefined || varnish === '' ? {} : { purgers: [createVarnishPurger({ url: varnish })], purgeRetry: { attempts: 3, delayMs: 100 } };
    cache = createCache({ store: url, keyPrefix: flags.keyPrefix ?? io.env.CACHE_KEY_PREFIX ?? '', ...(version === undefined ? {} : { version: Number(version) }), failOpen: false, breaker: false, timeoutMs, logger: false, ...purgers });
  } catch (error) {
    if (error instanceof CacheError || error instanceof RangeError) throw new CliError(`bad store URL: ${error.message}`, EXIT_USAGE, { cause: error });
    throw error;
  }
  const kind = cache.store.kind;
  const close = () => closeQuietly(cache);
  if (options.shared && kind === 'memory') {
    await close();
    throw new CliError(MEMORY_IS_PRIVATE, EXIT_USAGE);
  }
  let probeMs: number | undefined;
  try {
    // Wait for the connection the cache opens in the background: closing a store while it is
    // still connecting can leave the connection open.
    await cache.connect(timeoutMs); // rejects by itself after timeoutMs
    if (options.probe !== false) probeMs = await probe(cache, timeoutMs);
  } catch (error) {
    void close();
    // A refused connection, a host that does not resolve or a wrong password is reported at once,
    // by name; only a store that does not answer at all waits for the timeout.
    const hint = /within \d+ ms/.test(messageOf(error)) && flags.timeout === undefined ? ` (--timeout ${timeoutMs * 2} waits longer)` : '';
    const text = error instanceof StoreConnectError ? error.detail : messageOf(error);
    throw new CliError(`cannot reach the cache store ${label}: ${text}${hint}`, 1, { cause: error });
  }
  return { cache, label, kind, probeMs, timeoutMs, close };
}

/** Write, read back and delete a key straight on the store (the cache itself would fail open). */
async function probe(cache: Cache, timeoutMs: number): Promise<number> {
  const key = `njkc-cli-probe:${process.pid}:${randomBytes(4).toString('hex')}`;
  const started = performance.now();
  await withTimeout(
    (async () => {
      await cache.store.set(key, 'probe', 60_000);
      const read = await cache.store.get(key);
      await cache.store.delete(key);
      if (read !== 'probe') throw new CacheError('ERR_CACHE_STORE_WRITE', 'a value written to the store could not be read back');
    })(),
    timeoutMs,
    'probe',
    `no answer within ${timeoutMs} ms`,
  );
  return performance.now() - started;
}

/** Close without letting a dead connection hold the command up. */
async function closeQuietly(cache: Cache): Promise<void> {
  await withTimeout(cache.close(), 1_000, 'close').catch(() => {});
}
