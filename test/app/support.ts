/** Start the demo in-process on 127.0.0.1:0 and talk to it like a browser would (cookies, forms). */
import type { Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, listen, type Demo, type DemoOptions } from '../../app/app.js';

export interface Running {
  demo: Demo;
  url: string;
  server: Server;
  stop(): Promise<void>;
}

/** A demo with its own database in a temporary folder (a small blog unless `seed` says otherwise). */
export async function startDemo(options: DemoOptions = {}): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'njkc-demo-'));
  const demo = await createApp({ dbPath: join(dir, 'blog.db'), warn: () => {}, ...options });
  const { server, url } = await listen(demo.app, 0, '127.0.0.1');
  return {
    demo,
    url,
    server,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await demo.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Timing {
  totalMs: number;
  queries: number;
  dbMs: number;
  hits: number;
  misses: number;
  stale: number;
}

/** Reads the demo's `Server-Timing` header. */
export function timing(header: string | null): Timing {
  if (header === null) throw new Error('no Server-Timing header');
  const total = /total;dur=([\d.]+)/.exec(header);
  const db = /db;dur=([\d.]+);desc="(\d+) quer(?:y|ies)"/.exec(header);
  const cache = /cache;desc="(\d+) hits?, (\d+) miss(?:es)?, (\d+) stale"/.exec(header);
  if (!total || !db || !cache) throw new Error(`unexpected Server-Timing: ${header}`);
  return { totalMs: Number(total[1]), dbMs: Number(db[1]), queries: Number(db[2]), hits: Number(cache[1]), misses: Number(cache[2]), stale: Number(cache[3]) };
}

/** A client that keeps cookies and can fill in forms, including their CSRF field. */
export class Client {
  readonly base: string;
  readonly cookies = new Map<string, string>();
  readonly headers: Record<string, string>;

  constructor(base: string, headers: Record<string, string> = {}) {
    this.base = base;
    this.headers = headers;
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.#send(path, { method: 'GET', headers });
  }

  /** GET, expecting 200, and the body. */
  async page(path: string): Promise<{ html: string; timing: Timing; response: Response }> {
    const response = await this.get(path);
    const html = await response.text();
    if (response.status !== 200) throw new Error(`GET ${path}: ${response.status}\n${html.slice(0, 500)}`);
    return { html, timing: timing(response.headers.get('server-timing')), response };
  }

  async post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.#send(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString() });
  }

  /** The CSRF token a form on `path` carries (and the cookie that goes with it). */
  async csrf(path: string): Promise<string> {
    const html = await (await this.get(path)).text();
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    if (token === undefined) throw new Error(`no CSRF field on ${path}`);
    return token;
  }

  async #send(path: string, init: { method: string; headers: Record<string, string>; body?: string }): Promise<Response> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await fetch(new URL(path, this.base), {
      ...init,
      redirect: 'manual',
      headers: { ...this.headers, ...(cookie ? { cookie } : {}), ...init.headers },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/max-age=0/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }
}

/** Titles of the cards on a home page, in order. */
export function cardTitles(html: string): string[] {
  return [...html.matchAll(/<article class="card" data-post-id="\d+">\s*<h2><a href="[^"]+">([^<]*)<\/a>/g)].map((m) => m[1] as string);
}

export function sidebarTitles(html: string): string[] {
  const aside = /<aside class="sidebar">([\s\S]*?)<\/aside>/.exec(html)?.[1] ?? '';
  return [...aside.matchAll(/<a href="\/posts\/\d+">([^<]*)<\/a>/g)].map((m) => m[1] as string);
}

/** The same Redis, another logical database, so nothing here meets other suites' keys (or their clear()). */
export function redisDb(url: string, db: number): string {
  const parsed = new URL(url);
  parsed.pathname = `/${db}`;
  return parsed.toString();
}
