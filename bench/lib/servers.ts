import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cache } from './library.js';

/** The HTTP servers of the HTTP rows (see procs/server.ts). */
export const VARIANTS = ['node', 'express', 'ours-node', 'ours-express', 'apicache-express'] as const;
export type Variant = (typeof VARIANTS)[number];

export type PageMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;
export type CachePage = (cache: Cache, options: { ttl?: number }) => PageMiddleware;

/** The page-caching middleware, when src/ has it. */
export function cachePageOf(library: object): CachePage | undefined {
  const fn = (library as { cachePage?: unknown }).cachePage;
  return typeof fn === 'function' ? (fn as CachePage) : undefined;
}
