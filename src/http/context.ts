import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cache } from '../core/cache.js';
import type { PageIndex } from './entry.js';
import type { PageAddress } from './keys.js';
import type { ResolvedPageOptions } from './options.js';
import type { PageRequest } from './policy.js';

/** One request as the page middleware sees it. */
export interface PageContext {
  cache: Cache;
  opts: ResolvedPageOptions;
  /** Memo: the variant fields of a header list (or a page's), for this middleware's key fields. */
  fields: WeakMap<object, string[]>;
  req: IncomingMessage;
  res: ServerResponse;
  method: 'GET' | 'HEAD';
  address: PageAddress;
  /** The request target as sent (`originalUrl` under Express). */
  target: string;
  /** This request's tags (the `tags` option, evaluated once). */
  tags: readonly string[];
  /** The request as `decidePage` sees it. */
  request: PageRequest;
  /** Hand the request to the app (`next()`), once. */
  pass: () => void;
}

/** What is known of the URL's header list when a render starts. Keys are before `makeKey`. */
export interface Known {
  indexKey: string;
  index: PageIndex | undefined;
}
