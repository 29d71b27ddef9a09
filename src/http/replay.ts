/**
 * Serving a stored page: status, body and the stored fields, with `Age` and `X-Cache`; or a 304
 * when the request's validators match.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EpochMs } from '../core/clock.js';
import { notModified, notModifiedHeaders } from './conditional.js';
import { decodeBody, type PageEntry } from './entry.js';

export type ReplayStatus = 'HIT' | 'STALE';

export function replay(req: IncomingMessage, res: ServerResponse, entry: PageEntry, status: ReplayStatus, now: EpochMs): void {
  // RFC 9110 §13.2.1: preconditions apply only where the response would be 2xx.
  const conditional = entry.status >= 200 && entry.status < 300 && notModified(req.headers, entry.headers, entry.at);
  const headers = conditional ? notModifiedHeaders(entry.headers) : entry.headers;
  for (const name of Object.keys(headers)) {
    if (name !== 'content-length') res.setHeader(name, headers[name] as string | string[]);
  }
  // RFC 9111 §5.1: the time since the page was stored, in whole seconds.
  res.setHeader('Age', String(Math.max(0, Math.floor((now - entry.at) / 1000))));
  res.setHeader('X-Cache', status);
  if (conditional) {
    res.statusCode = 304;
    res.end();
    return;
  }
  res.statusCode = entry.status;
  // UTF-8 bodies go out as the stored string: Node then sends headers and body in one write.
  const body = entry.enc === 'utf8' ? entry.body : decodeBody(entry);
  const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  // An entry stored for HEAD has no body; its Content-Length is the one the app announced.
  const length = bytes === 0 && entry.headers['content-length'] !== undefined ? entry.headers['content-length'] : String(bytes);
  res.setHeader('Content-Length', length);
  if (req.method === 'HEAD') res.end();
  else res.end(body);
}
