import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cache } from '../core/cache.js';
import type { PageEntry, PageIndex } from './entry.js';
import type { PageFlights } from './flights.js';
import type { PageAddress } from './keys.js';
import type { ResolvedPageOptions } from './options.js';

/** One request as the page middleware sees it. */
export interface PageContext {
  cache: Cache;
  opts: ResolvedPageOptions;
  flights: PageFlights;
  /** Memo: the variant fields of a header list, for this middleware's key fields. */
  fields: WeakMap<PageIndex, string[]>;
  req: IncomingMessage;
  res: ServerResponse;
  method: 'GET' | 'HEAD';
  address: PageAddress;
  /** The request target as sent (`originalUrl` under Express). */
  target: string;
  /** This request's tags (the `tags` option, evaluated once). */
  tags: readonly string[];
  /** Hand the request to the app (`next()`), once. */
  pass: () => void;
}

/** What a lookup found for one method. Keys are before `makeKey`. */
export interface Lookup {
  indexKey: string;
  index?: PageIndex;
  pageKey?: string;
  entry?: PageEntry;
}
