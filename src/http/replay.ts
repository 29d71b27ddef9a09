/**
 * Serving a stored page: status, body and the stored fields, with `Age` and `X-Cache`; or a 304
 * when the request's validators match.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EpochMs } from '../contracts/clock.js';
import { notModified, notModifiedHeaders } from './conditional.js';
import { decodeBody, type PageEntry } from './entry.js';

export type ReplayStatus = 'HIT' | 'STALE';

/**
 * The body as bytes, kept beside the parsed entry (entries of warm pages are reused across hits):
 * writing a Buffer costs the server less than encoding the stored string on every response.
 */
const bodies = new WeakMap<PageEntry, Buffer>();
function bodyBytes(entry: PageEntry): Buffer {
  let body = bodies.get(entry);
  if (body === undefined) {
    body = decodeBody(entry);
    bodies.set(entry, body);
  }
  return body;
}

export function replay(req: IncomingMessage, res: ServerResponse, entry: PageEntry, status: ReplayStatus, now: EpochMs): void {
  // RFC 9110 §13.2.1: preconditions apply only where the response would be 2xx.
  const conditional = entry.status >= 200 && entry.status < 300 && notModified(req.headers, entry.headers, entry.at);
  const headers = conditional ? notModifiedHeaders(entry.headers) : entry.headers;
  for (const name of Object.keys(headers)) {
    if (name !== 'content-length') res.setHeader(name, headers[name] as string | string[]);
  }
  // RFC 9111 §5.1: the age the response had when stored (its own Age) plus the time since, in whole seconds.
  res.setHeader('Age', String(entry.age + Math.max(0, Math.floor((now - entry.at) / 1000))));
  res.setHeader('X-Cache', status);
  if (conditional) {
    res.statusCode = 304;
    res.end();
    return;
  }
  res.statusCode = entry.status;
  const body = bodyBytes(entry);
  const bytes = body.length;
  // An entry stored for HEAD has no body; its Content-Length is the one the app announced.
  const length = bytes === 0 && entry.headers['content-length'] !== undefined ? entry.headers['content-length'] : String(bytes);
  res.setHeader('Content-Length', length);
  if (req.method === 'HEAD') res.end();
  else res.end(body);
}
