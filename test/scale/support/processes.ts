import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const workerPath = fileURLToPath(new URL('./worker.ts', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));

export interface WorkerEvent {
  event: 'ready' | 'invalidate' | 'down' | 'up';
  at: number;
}

/** One application process (see worker.ts), spoken to over IPC. */
export class Worker {
  readonly events: WorkerEvent[] = [];
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #next = 0;

  constructor(env: Record<string, string>) {
    this.#child = fork(workerPath, [], { cwd: root, execArgv: ['--import', 'tsx'], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (message: { id?: number; result?: unknown; error?: string } & Partial<WorkerEvent>) => {
      if (message.event !== undefined) this.events.push(message as WorkerEvent);
      if (message.id === undefined) return;
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.error !== undefined) pending?.reject(new Error(`worker ${this.#child.pid}: ${message.error}`));
      else pending?.resolve(message.result);
    });
    this.#child.on('exit', () => {
      for (const pending of this.#pending.values()) pending.reject(new Error(`worker ${this.#child.pid} exited`));
      this.#pending.clear();
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  request<T>(op: string, args: object = {}): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#child.send({ id, op, ...args });
    });
  }

  /** Resolves once an event of this kind arrived after `since` (epoch ms). */
  async until(event: WorkerEvent['event'], since = 0, timeoutMs = 10_000): Promise<WorkerEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e) => e.event === event && e.at >= since);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`worker ${this.pid}: no "${event}" event within ${timeoutMs} ms (events: ${JSON.stringify(this.events.map((e) => e.event))})`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Ask it to exit; kill it (this PID only) if it does not. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    this.request('exit').catch(() => {});
    const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }
}

export const now = () => performance.timeOrigin + performance.now();
