/**
 * The Node side: watch a response as the app writes it, without changing what the client gets.
 * Works for `node:http` and for Express (`res.send`, `res.render`, `res.json`, piped streams), since
 * all of them end in `writeHead`, `write` and `end` on the same object.
 */
import type { OutgoingHttpHeader, OutgoingHttpHeaders, ServerResponse } from 'node:http';

type HeadersArgument = OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined;

/**
 * Run `before` just before the status line and headers go out, and `after` once they have. Headers
 * passed to `writeHead` are applied with `setHeader` first (as Node itself does when headers were
 * already set), so both see every field in `res.getHeaders()`. Hooks installed later run first.
 */
export function onHeaders(res: ServerResponse, before: (status: number) => void, after?: () => void): void {
  const previous = res.writeHead as (this: ServerResponse, ...args: unknown[]) => ServerResponse;
  let fired = false;
  res.writeHead = function writeHead(this: ServerResponse, statusCode: number, ...rest: unknown[]): ServerResponse {
    if (fired || this.headersSent) return previous.call(this, statusCode, ...rest);
    fired = true;
    const reason = typeof rest[0] === 'string' ? rest[0] : undefined;
    applyHeaders(this, (reason === undefined ? rest[0] : rest[1]) as HeadersArgument);
    this.statusCode = statusCode;
    before(statusCode);
    const result = reason === undefined ? previous.call(this, this.statusCode) : previous.call(this, this.statusCode, reason);
    after?.();
    return result;
  } as ServerResponse['writeHead'];
}

function applyHeaders(res: ServerResponse, headers: HeadersArgument): void {
  if (headers === undefined || headers === null) return;
  if (Array.isArray(headers)) {
    // A flat [name, value, name, value…] list: replaces earlier values, keeps its own duplicates.
    for (let i = 0; i < headers.length; i += 2) res.removeHeader(String(headers[i]));
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i];
      if (name) res.appendHeader(String(name), headers[i + 1] as string | string[]);
    }
    return;
  }
  for (const name of Object.keys(headers)) {
    if (name) res.setHeader(name, headers[name] as OutgoingHttpHeader);
  }
}

export type CaptureLoss = 'too-large' | 'trailers';

export interface CaptureHooks {
  /** Headers are about to go out (they may still be changed); `body` when the whole body is already known. */
  beforeHeaders(status: number, body: Buffer | undefined): void;
  /** Headers went out; return false to stop keeping a copy of the body. */
  afterHeaders(): boolean;
  /** The app ended the response: the whole body, or why no copy was kept. */
  end(body: Buffer | undefined, loss: CaptureLoss | undefined): void;
  /** The connection closed before the app ended the response. */
  abort(): void;
}

/**
 * Keep a copy of what the app writes (up to `maxBytes`) while passing every call through at once:
 * streamed responses reach the client as they are written, and nothing is held back or changed.
 */
export function captureResponse(res: ServerResponse, maxBytes: number, hooks: CaptureHooks): void {
  let chunks: Buffer[] = [];
  let size = 0;
  let keeping = true;
  let loss: CaptureLoss | undefined;
  let whole: Buffer | undefined;
  let settled = false;
  let ended = false;

  const stop = (why?: CaptureLoss): void => {
    keeping = false;
    chunks = [];
    size = 0;
    loss ??= why;
  };
  const keep = (chunk: unknown, encoding: unknown): void => {
    if (!keeping || chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const buffer = toBuffer(chunk, encoding);
    if (buffer === undefined) return stop();
    size += buffer.length;
    if (size > maxBytes) return stop('too-large');
    chunks.push(buffer);
  };

  onHeaders(
    res,
    (status) => hooks.beforeHeaders(status, whole),
    () => {
      const length = Number(res.getHeader('content-length'));
      if (Number.isFinite(length) && length > maxBytes) stop('too-large');
      if (!hooks.afterHeaders()) stop();
    },
  );

  const write = res.write;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]): boolean {
    if (!ended) keep(chunk, rest[0]);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse['write'];

  const end = res.end;
  res.end = function (this: ServerResponse, ...args: unknown[]): ServerResponse {
    if (ended) return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    ended = true;
    if (typeof args[0] !== 'function') keep(args[0], args[1]);
    // A single end(body) before any write: the body is whole before the headers go out.
    if (keeping && !this.headersSent) whole = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
    let result: ServerResponse;
    try {
      result = (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    } catch (error) {
      settle(() => hooks.abort());
      throw error;
    }
    const body = keeping ? (whole ?? Buffer.concat(chunks, size)) : undefined;
    settle(() => hooks.end(body, body === undefined ? loss : undefined));
    return result;
  } as ServerResponse['end'];

  const addTrailers = res.addTrailers;
  res.addTrailers = function (this: ServerResponse, headers: OutgoingHttpHeaders | ReadonlyArray<[string, string]>): void {
    stop('trailers'); // trailers cannot be replayed with a stored body
    addTrailers.call(this, headers);
  };

  res.once('close', () => {
    if (!ended) settle(() => hooks.abort());
  });

  function settle(fn: () => void): void {
    if (settled) return;
    settled = true;
    fn();
  }
}

function toBuffer(chunk: unknown, encoding: unknown): Buffer | undefined {
  if (typeof chunk === 'string') {
    const enc = typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8';
    return Buffer.from(chunk, enc);
  }
  // Copied: the app may reuse its buffer once the write has been handed on.
  if (chunk instanceof Uint8Array) return Buffer.from(chunk);
  return undefined;
}
