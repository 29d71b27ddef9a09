/**
 * Stale-while-revalidate needs the handler to run without a client. We replay the request that
 * found the page stale through the app, as a synthetic GET with a response that goes nowhere; the
 * page middleware on the way recognises it (by a symbol no client can send), skips the lookup and
 * commits the result through the core's refresh lease under the usual rules. What the replay carries is exactly what the triggering
 * request carried (minus conditional and range fields), so it can produce nothing that request
 * could not have produced and stored itself.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Lease } from '../core/cache.js';
import type { RequestHeaders } from './headers.js';

/** A Node request listener: an Express app, or the function given to `http.createServer`. */
export type PageApp = (req: IncomingMessage, res: ServerResponse) => unknown;

const REFRESH = Symbol.for('nunjucks-fragment-cache:page-refresh');

export interface RefreshMarker {
  /** The core's refresh lease the replayed response is committed through. */
  lease: Lease<unknown>;
  /** Called by the page middleware when the replayed response is over. */
  done(): void;
}

type Marked = IncomingMessage & { [REFRESH]?: RefreshMarker };

/** The marker, when `req` is a background refresh. */
export function refreshOf(req: IncomingMessage): RefreshMarker | undefined {
  return (req as Marked)[REFRESH];
}

/**
 * The app to replay through: the configured one, or Express's root app (`req.app`, followed up
 * through mounted sub-apps, since the replay carries the full original URL).
 */
export function appOf(req: IncomingMessage, configured: PageApp | undefined): PageApp | undefined {
  if (configured !== undefined) return configured;
  let app = (req as IncomingMessage & { app?: unknown }).app;
  if (typeof app !== 'function') return undefined;
  while (typeof (app as { parent?: unknown }).parent === 'function') app = (app as { parent: unknown }).parent;
  return app as PageApp;
}

/** Fields not replayed: the refresh wants the full, current page. */
const DROPPED = new Set(['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range', 'content-length', 'transfer-encoding', 'expect']);

/**
 * Run `app` for a GET of `target` with `original`'s headers. `onDone` runs once: when a page
 * middleware reports the replay over, when the app throws, or after `timeoutMs`.
 */
export function replayInBackground(app: PageApp, original: IncomingMessage, target: string, timeoutMs: number, lease: Lease<unknown>, onDone: () => void): void {
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    onDone();
  };
  const timer = setTimeout(finish, timeoutMs);
  timer.unref();

  const socket = new Socket();
  // What Express and the key read from the socket: keep the scheme and the client's address.
  Object.defineProperty(socket, 'encrypted', { value: (original.socket as { encrypted?: boolean } | null)?.encrypted === true });
  Object.defineProperty(socket, 'remoteAddress', { value: original.socket?.remoteAddress });
  const req = new IncomingMessage(socket) as Marked;
  req.method = 'GET';
  req.url = target;
  req.httpVersion = '1.1';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  const headers: RequestHeaders = {};
  const raw: string[] = [];
  for (const [name, value] of Object.entries(original.headers)) {
    if (value === undefined || DROPPED.has(name)) continue;
    headers[name] = value as string & string[];
    for (const v of Array.isArray(value) ? value : [value]) raw.push(name, v);
  }
  req.headers = headers;
  req.rawHeaders = raw;
  req[REFRESH] = { lease, done: finish };
  req.push(null); // a GET without a body: body parsers see the end at once
  const res = new ServerResponse(req);
  try {
    const result = app(req, res);
    if (result instanceof Promise) result.catch(finish);
  } catch {
    finish();
  }
}
