/**
 * Real servers on 127.0.0.1:0 for the page-cache tests, built the same way on Express 5 and on
 * plain node:http, and a raw HTTP client (fetch cannot set Host).
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { PageMiddleware } from '../../src/http.js';
import { createMemoryStore, type Store } from '../../src/stores.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

export interface Route {
  path: string;
  /** Middleware in front of the handler (cachePage, decorators), in order. */
  use?: PageMiddleware[];
  handler: Handler;
}

export interface AppSpec {
  /** Site-wide middleware, before every route. */
  use?: PageMiddleware[];
  routes: Route[];
}

export type Framework = 'express' | 'node:http';
export const FRAMEWORKS: Framework[] = ['express', 'node:http'];

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  raw: Buffer;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
}

export interface TestServer {
  port: number;
  /** The request listener (for `app` in staleTtl tests on node:http). */
  listener: RequestListener;
  get(path: string, options?: RequestOptions): Promise<Reply>;
  close(): Promise<void>;
}

/** Start `spec` on a framework. Host defaults to "site.test" so keys do not depend on the port. */
export async function serve(framework: Framework, spec: AppSpec): Promise<TestServer> {
  const listener = framework === 'express' ? expressApp(spec) : nodeListener(spec);
  return listen(listener);
}

export async function listen(listener: RequestListener): Promise<TestServer> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    listener,
    get: (path, options = {}) => send(port, path, options),
    close: () => close(server),
  };
}

function expressApp(spec: AppSpec): RequestListener {
  const app = express();
  for (const mw of spec.use ?? []) app.use(mw);
  for (const route of spec.routes) {
    app.all(route.path, ...(route.use ?? []), async (req, res) => {
      await route.handler(req, res);
    });
  }
  return app as unknown as RequestListener;
}

function nodeListener(spec: AppSpec): RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = spec.routes.find((r) => r.path === path);
    const chain = [...(spec.use ?? []), ...(route?.use ?? [])];
    const fail = (error: unknown): void => {
      res.statusCode = 500;
      res.end(`error: ${String(error)}`);
    };
    let i = 0;
    const next = (error?: unknown): void => {
      if (error !== undefined) return fail(error);
      const mw = chain[i++];
      if (mw !== undefined) return mw(req, res, next);
      if (route === undefined) {
        res.statusCode = 404;
        res.end('not found');
        return;
      }
      Promise.resolve(route.handler(req, res)).catch(fail);
    };
    next();
  };
}

export function send(port: number, path: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: { host: 'site.test', ...options.headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw.toString('utf8'), raw });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A counter handlers bump, to prove whether the app ran. */
export function counter(): { n: number } {
  return { n: 0 };
}

export const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A store whose calls fail (or hang) while `broken.now` says so. */
export function brokenStore(): { store: Store; broken: { now: 'ok' | 'throw' | 'hang' } } {
  const inner = createMemoryStore();
  const broken = { now: 'ok' as 'ok' | 'throw' | 'hang' };
  const guard =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      if (broken.now === 'throw') return Promise.reject(new Error('ECONNREFUSED (injected)'));
      if (broken.now === 'hang') return new Promise<R>(() => {});
      return fn(...args);
    };
  return {
    broken,
    store: {
      kind: 'broken',
      get: guard((key: string) => inner.get(key)),
      getMany: guard((keys: readonly string[]) => inner.getMany(keys)),
      set: guard((key: string, value: unknown, ttl: number | undefined) => inner.set(key, value, ttl)),
      setMany: guard((entries: Parameters<Store['setMany']>[0]) => inner.setMany(entries)),
      delete: guard((key: string) => inner.delete(key)),
      deleteMany: guard((keys: readonly string[]) => inner.deleteMany(keys)),
      clear: guard(() => inner.clear()),
      close: () => inner.close(),
    },
  };
}
