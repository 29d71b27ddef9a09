/**
 * Errors of the page cache. Like the core's, each carries a stable `code`; they are thrown only for
 * programmer errors (bad options, a URL that cannot be keyed). Nothing a request does makes the
 * page cache throw: an uncacheable request is simply served by the app.
 */
export type PageCacheErrorCode = 'ERR_PAGE_OPTIONS' | 'ERR_PAGE_URL';

export class PageCacheError extends Error {
  readonly code: PageCacheErrorCode;

  constructor(code: PageCacheErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PageCacheError';
    this.code = code;
  }
}
