/**
 * A real redis-server (started here, on its own loopback port) is killed while two application
 * processes cache through it, kept down until both circuit breakers are open, then restarted on
 * the same port. Caching through Redis must work again in both processes — a fresh value stored,
 * then hit — within 1 s of the new server answering PING.
 *
 * Two mechanisms make that so: the store reports its client's `ready` (Store.onReady), on which
 * the cache lets a probe through the open circuit at once instead of waiting out the 5 s
 * cool-down; and the client looks for the server again at least every 250 ms. Without the first
 * (run with NJKC_HIDE_READY=1, which hides the hook from the worker's cache), each process resumes
 * only when its cool-down ends, 3–5 s after the restart here, and this test fails. Without the
 * second, the old backoff (up to 2 s between attempts) alone can exceed the bound; the first case
 * below pins it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { clientOptions } from '../../src/stores/redis-connection.js';
import { RedisProcess, freePort, hasRedisServer } from '../support/redis-server.js';

if (!hasRedisServer) console.warn('\n[skip] Redis restart test skipped: no redis-server binary on PATH.\n');

const RESUME_WITHIN_MS = 1_000;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Attempt {
  ok: boolean;
  /** Epoch ms (performance clock, shared by the processes on this machine). */
  started: number;
  at: number;
  circuit: string;
}

const workerPath = fileURLToPath(new URL('./support/restart-worker.ts', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));

/** One worker process (support/restart-worker.ts) and the attempts it reported. */
class App {
  readonly attempts: Attempt[] = [];
  readonly ready: Promise<void>;
  readonly #child: ChildProcess;

  constructor(url: string) {
    this.#child = fork(workerPath, [], {
      cwd: root,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, NJKC_REDIS: url, NJKC_HIDE_READY: process.env.NJKC_HIDE_READY ?? '' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = new Promise((resolve, reject) => {
      this.#child.once('exit', (code) => reject(new Error(`restart worker exited (${String(code)})`)));
      this.#child.on('message', (message: { event: string } & Attempt) => {
        if (message.event === 'ready') resolve();
        else if (message.event === 'attempt') this.attempts.push(message);
      });
    });
  }

  /** The first attempt matching `test`, waiting up to `timeoutMs` for it. */
  async until(test: (attempt: Attempt) => boolean, what: string, timeoutMs: number): Promise<Attempt> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.attempts.find(test);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`worker ${this.#child.pid}: no attempt ${what} within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  /** Ask it to exit; kill it (this PID only) if it does not. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.removeAllListeners('exit');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send({ op: 'exit' });
    const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }
}

/** When a server on `port` first answers PING with PONG (epoch ms), trying every 5 ms. */
async function firstPong(port: number, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const at = await new Promise<number | undefined>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      const done = (value: number | undefined) => {
        socket.destroy();
        resolve(value);
      };
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => done(data.toString().startsWith('+PONG') ? now() : undefined));
      socket.once('error', () => done(undefined));
    });
    if (at !== undefined) return at;
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not answer PING`);
    await sleep(5);
  }
}

describe('the Redis client after a connection loss', () => {
  it('looks for the server again at least every 250 ms, however long it has been away', () => {
    const strategy = clientOptions('redis://127.0.0.1:6379').socket?.reconnectStrategy as (retries: number, cause: Error) => number;
    const delays = Array.from({ length: 1_000 }, (_, retries) => strategy(retries, new Error('ECONNREFUSED')));
    expect(delays.slice(0, 5)).toEqual([50, 100, 150, 200, 250]);
    expect(Math.max(...delays)).toBe(250);
  });
});

describe.runIf(hasRedisServer)('a real redis-server killed and restarted', () => {
  let redis: RedisProcess | undefined;
  const apps: App[] = [];
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.stop()));
    await redis?.stop();
  });

  it(`caching through Redis resumes in two processes within ${RESUME_WITHIN_MS} ms of the restart`, async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
    apps.push(new App(redis.url), new App(redis.url));
    await Promise.all(apps.map((app) => app.ready));
    await Promise.all(apps.map((app) => app.until((a) => a.ok, 'that stored and hit', 10_000)));

    await redis.stop();
    const killed = now();
    // Both processes notice: their calls time out, and after 5 failures each circuit opens.
    await Promise.all(apps.map((app) => app.until((a) => a.started >= killed && a.circuit === 'open', 'with the circuit open', 20_000)));
    await sleep(1_000); // a while longer down: the clients' reconnect backoff grows to its cap

    await redis.start(); // same port, empty (no persistence)
    const restarted = await firstPong(redis.port);
    const resumed = await Promise.all(apps.map((app) => app.until((a) => a.ok && a.at >= restarted, 'that stored and hit after the restart', 15_000)));
    const delays = resumed.map((a) => a.at - restarted);
    console.log(`[redis-restart] down ${(restarted - killed).toFixed(0)} ms; caching resumed ${delays.map((d) => d.toFixed(0)).join(' ms and ')} ms after the new server answered PING`);
    for (const delay of delays) expect(delay).toBeLessThan(RESUME_WITHIN_MS);
  }, 60_000);
});
