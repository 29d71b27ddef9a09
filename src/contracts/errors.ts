/**
 * Every error the library throws: `CacheError` and its subclasses, each with a stable `code`, so
 * callers can branch on `err.code` instead of parsing messages. Ordinary misses never throw: they
 * return `undefined` (or the default you passed). A leaf module: core, stores and the integrations
 * all import it, and it imports nothing.
 */
export type CacheErrorCode =
  | 'ERR_CACHE_STORE_SPEC'
  | 'ERR_CACHE_OPTIONS'
  | 'ERR_CACHE_MISSING_KEY'
  | 'ERR_CACHE_VARY_ON'
  | 'ERR_CACHE_NOT_A_NUMBER'
  | 'ERR_CACHE_TTL'
  | 'ERR_CACHE_STORE_TIMEOUT'
  | 'ERR_CACHE_CIRCUIT_OPEN'
  | 'ERR_CACHE_CLOSED'
  | 'ERR_CACHE_ENTRY_TOO_LARGE'
  | 'ERR_CACHE_DRIVER_MISSING'
  | 'ERR_CACHE_CONNECT'
  | 'ERR_CACHE_STORE_WRITE'
  | 'ERR_PAGE_OPTIONS'
  | 'ERR_PAGE_URL'
  | 'ERR_CACHE_PURGE';

export class CacheError extends Error {
  readonly code: CacheErrorCode;

  constructor(code: CacheErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CacheError';
    this.code = code;
  }
}

/** A store URL or object that cannot be turned into a store. */
export class StoreSpecError extends CacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CACHE_STORE_SPEC', message, options);
    this.name = 'StoreSpecError';
  }
}

/** A store operation that took longer than the cache's `timeout` (or a bus operation, its own). */
export class StoreTimeoutError extends CacheError {
  constructor(operation: string, timeoutMs: number, message?: string) {
    super('ERR_CACHE_STORE_TIMEOUT', message ?? `Store operation "${operation}" did not finish within ${timeoutMs} ms; it was treated as a miss. Raise the cache's "timeoutMs" option if your store is legitimately slow.`);
    this.name = 'StoreTimeoutError';
  }
}

/** The circuit breaker is open: the store failed repeatedly and is not being called for a while. */
export class CircuitOpenError extends CacheError {
  constructor(retryInMs: number) {
    super('ERR_CACHE_CIRCUIT_OPEN', `The cache store failed repeatedly; calls are skipped for another ${retryInMs} ms, then one probe is sent.`);
    this.name = 'CircuitOpenError';
  }
}

/**
 * The store needs a driver package that is not installed. Store drivers are optional peer
 * dependencies: install the one your store URL needs.
 */
export class MissingDriverError extends CacheError {
  /** The package to install, e.g. "@keyv/redis". */
  readonly packageName: string;

  constructor(packageName: string, store: string, options?: { cause?: unknown }) {
    super('ERR_CACHE_DRIVER_MISSING', `The ${store} store needs the "${packageName}" package, which is not installed. Install it next to nunjucks-fragment-cache: npm i ${packageName}`, options);
    this.name = 'MissingDriverError';
    this.packageName = packageName;
  }
}

/** Why a store could not be reached, as far as the driver's error tells. */
export type ConnectFailure = 'refused' | 'dns' | 'auth' | 'timeout' | 'other';

/**
 * What a driver's connection error means, in words an operator can act on: refused (nothing
 * listens there), DNS (the host name does not resolve), authentication, or a timeout.
 */
export function explainConnectError(error: unknown): { reason: ConnectFailure; text: string } {
  const e = (error ?? {}) as { code?: unknown; message?: unknown; hostname?: unknown; address?: unknown; port?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : String(error);
  if (code === 'ECONNREFUSED' || /\bECONNREFUSED\b/.test(message)) {
    const where = typeof e.address === 'string' ? ` at ${e.address}${typeof e.port === 'number' ? `:${e.port}` : ''}` : '';
    return { reason: 'refused', text: `connection refused${where} (ECONNREFUSED): nothing is listening there; is the server running, and is the port right?` };
  }
  if (['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL'].includes(code) || /\b(ENOTFOUND|EAI_AGAIN)\b/.test(message)) {
    const host = typeof e.hostname === 'string' ? ` "${e.hostname}"` : '';
    return { reason: 'dns', text: `DNS lookup of the host${host} failed (${code || 'ENOTFOUND'}); check the host name in the URL.` };
  }
  // Redis: WRONGPASS, NOAUTH; PostgreSQL: 28P01 (bad password), 28000 (no such role or not allowed).
  if (code === '28P01' || code === '28000' || /WRONGPASS|NOAUTH|^ERR AUTH\b|invalid password|password authentication failed|invalid username-password/i.test(message)) {
    return { reason: 'auth', text: `authentication failed: ${sentence(message)} Check the user name and password in the URL.` };
  }
  if (code === 'ETIMEDOUT' || /timed? ?out|timeout/i.test(message)) return { reason: 'timeout', text: `no answer in time: ${sentence(message)}` };
  return { reason: 'other', text: sentence(code !== '' && !message.includes(code) ? `${message} (${code})` : message) };
}

function sentence(text: string): string {
  return /[.?!]$/.test(text) ? text : `${text}.`;
}

/** The store could not be reached: `cache.connect()` rejects with this, the driver's error as `cause`. */
export class StoreConnectError extends CacheError {
  /** `refused`, `dns`, `auth`, `timeout` or `other`. */
  readonly reason: ConnectFailure;
  /** The cause in words, without the store's name: "connection refused at 127.0.0.1:1 (ECONNREFUSED): …". */
  readonly detail: string;

  constructor(store: string, cause: unknown) {
    const { reason, text } = explainConnectError(cause);
    super('ERR_CACHE_CONNECT', `Cannot connect to the ${store} store: ${text}`, { cause });
    this.name = 'StoreConnectError';
    this.reason = reason;
    this.detail = text;
  }
}

/**
 * A store refused one value because of its size (larger than the memory store's whole budget).
 * Not a failure of the store: it does not count against the circuit breaker, and the write
 * reports `false`.
 */
export class EntryTooLargeError extends CacheError {
  constructor(message: string) {
    super('ERR_CACHE_ENTRY_TOO_LARGE', message);
    this.name = 'EntryTooLargeError';
  }
}

/**
 * A reverse proxy or CDN did not confirm a purge by tag (`createCache({ purgers })`). Reported
 * through the cache's `error` event for every failed attempt; `final` is true when no attempt is
 * left, so the proxy may serve the tagged pages until their own lifetime ends.
 */
export class PurgeError extends CacheError {
  readonly purger: string;
  readonly tags: readonly string[];
  readonly attempt: number;
  readonly final: boolean;

  constructor(purger: string, tags: readonly string[], attempt: number, final: boolean, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    const next = final ? 'No attempt is left: the proxy keeps those pages until they expire there; check the purger\'s URL and credentials.' : 'It will be retried.';
    super('ERR_CACHE_PURGE', `Purger "${purger}" failed to purge tags ${JSON.stringify(tags)} (attempt ${attempt}): ${why}. ${next}`, { cause });
    this.name = 'PurgeError';
    this.purger = purger;
    this.tags = tags;
    this.attempt = attempt;
    this.final = final;
  }
}

export type PageCacheErrorCode = 'ERR_PAGE_OPTIONS' | 'ERR_PAGE_URL';

/**
 * Errors of the page cache (`./http`), thrown only for programmer errors (bad options, a URL that
 * cannot be keyed). Nothing a request does makes the page cache throw: an uncacheable request is
 * simply served by the app.
 */
export class PageCacheError extends CacheError {
  declare readonly code: PageCacheErrorCode;

  constructor(code: PageCacheErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'PageCacheError';
  }
}
