/**
 * Child processes for the bench: servers, load generators and memory probes each run in their own
 * process, with TypeScript loaded by tsx. A child reports through IPC with `report()`; the parent
 * waits with `runChild()` (one result, then exit) or `startChild()` (a long-lived server).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const TSX = import.meta.resolve('tsx');

export interface ChildOptions {
  /** Extra Node flags, e.g. `--expose-gc`. */
  nodeFlags?: string[];
  env?: NodeJS.ProcessEnv;
  /** Kill the child and fail after this long, ms. */
  timeoutMs?: number;
}

function spawnTs(file: URL, args: string[], options: ChildOptions): ChildProcess {
  return fork(fileURLToPath(file), args, {
    execArgv: ['--import', TSX, ...(options.nodeFlags ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** Run a child to completion and return the one message it reports. */
export function runChild<T>(file: URL, args: string[] = [], options: ChildOptions = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawnTs(file, args, options);
    let result: { ok: true; value: T } | { ok: false; error: string } | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${fileURLToPath(file)} ${args.join(' ')} took longer than ${options.timeoutMs} ms`));
    }, options.timeoutMs ?? 120_000);
    child.on('message', (message) => {
      result = message as typeof result;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result?.ok) resolve(result.value);
      else reject(new Error(result?.ok === false ? result.error : `${fileURLToPath(file)} ${args.join(' ')} exited with ${code ?? signal} before reporting`));
    });
  });
}

export interface RunningChild<T> {
  /** What the child reported when it was ready (e.g. its port). */
  ready: T;
  pid: number;
  /** Send a request to a child that serves them with `serveRequests()`, and wait for its answer. */
  request<R>(message: object): Promise<R>;
  stop(): Promise<void>;
}

/** Start a long-lived child (a server) and wait for its first report. */
export function startChild<T>(file: URL, args: string[] = [], options: ChildOptions = {}): Promise<RunningChild<T>> {
  return new Promise((resolve, reject) => {
    const child = spawnTs(file, args, options);
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${fileURLToPath(file)} did not become ready in ${options.timeoutMs ?? 30_000} ms`));
    }, options.timeoutMs ?? 30_000);
    child.once('message', (message) => {
      clearTimeout(timer);
      const m = message as { ok: true; value: T } | { ok: false; error: string };
      if (!m.ok) {
        child.kill('SIGKILL');
        return reject(new Error(m.error));
      }
      let next = 0;
      resolve({
        ready: m.value,
        pid: child.pid as number,
        request: <R>(message: object) =>
          new Promise<R>((answer, fail) => {
            const id = ++next;
            const onMessage = (reply: unknown) => {
              const r = reply as { id?: number; ok: boolean; value?: R; error?: string };
              if (r.id !== id) return;
              child.off('message', onMessage);
              child.off('exit', onExit);
              if (r.ok) answer(r.value as R);
              else fail(new Error(r.error));
            };
            const onExit = () => fail(new Error(`${fileURLToPath(file)} exited during a request`));
            child.on('message', onMessage);
            child.once('exit', onExit);
            child.send({ id, ...message });
          }),
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${fileURLToPath(file)} ${args.join(' ')} exited with ${code ?? signal} before it was ready`));
    });
  });
}

/** In a child: answer the parent's `request()`s with `handle` until it disconnects. */
export function serveRequests(handle: (message: Record<string, unknown>) => Promise<unknown>): void {
  process.on('message', (message) => {
    const { id, ...rest } = message as { id: number } & Record<string, unknown>;
    handle(rest).then(
      (value) => process.send?.({ id, ok: true, value }),
      (error: unknown) => process.send?.({ id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

/** In a child: send the result (or the failure) to the parent. */
export function report<T>(value: T): Promise<void> {
  return new Promise((resolve) => process.send?.({ ok: true, value }, () => resolve()) ?? resolve());
}

export function reportFailure(error: unknown): Promise<void> {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return new Promise((resolve) => process.send?.({ ok: false, error: text }, () => resolve()) ?? resolve());
}
