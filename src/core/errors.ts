/**
 * Named errors with a stable `code`, so callers can branch on `err.code` instead of parsing messages.
 * Ordinary misses never throw: they return `undefined` (or the default you passed).
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
  | 'ERR_CACHE_DRIVER_MISSING';

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

/** A store operation that took longer than the cache's `timeout`. */
export class StoreTimeoutError extends CacheError {
  constructor(operation: string, timeoutMs: number) {
    super('ERR_CACHE_STORE_TIMEOUT', `Store operation "${operation}" did not finish within ${timeoutMs} ms; it was treated as a miss. Raise the cache's "timeoutMs" option if your store is legitimately slow.`);
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
