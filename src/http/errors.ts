/**
 * Errors of the page cache: `CacheError`s like every other the library throws, each with a stable
 * `code`; thrown only for programmer errors (bad options, a URL that cannot be keyed). Nothing a
 * request does makes the page cache throw: an uncacheable request is simply served by the app.
 */
import { CacheError } from '../contracts/errors.js';

export type PageCacheErrorCode = 'ERR_PAGE_OPTIONS' | 'ERR_PAGE_URL';

export class PageCacheError extends CacheError {
  declare readonly code: PageCacheErrorCode;

  constructor(code: PageCacheErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'PageCacheError';
  }
}
