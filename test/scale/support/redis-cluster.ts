import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../support/redis-server.js';

export const hasRedisCluster = spawnSync('redis-server', ['--version']).status === 0 && spawnSync('redis-cli', ['--version']).status === 0;

/**
 * A real Redis Cluster of `masters` redis-server processes on free loopback ports, in a temporary
 * directory; stop() kills only these PIDs and removes the directory.
 */
export class RedisCluster {
  readonly ports: number[] = [];
  readonly #children: ChildProcess[] = [];
  #dir: string | undefined;

  get url(): string {
    return `redis+cluster://${this.ports.map((port) => `127.0.0.1:${port}`).join(',')}`;
  }

  get rootNodes(): Array<{ url: string }> {
    return this.ports.map((port) => ({ url: `redis://127.0.0.1:${port}` }));
  }

  async start(masters = 3): Promise<void> {
    this.#dir = mkdtempSync(join(tmpdir(), 'njkc-cluster-'));
    for (let i = 0; i < masters; i += 1) this.ports.push(await freePort());
    await Promise.all(this.ports.map((port) => this.#startNode(port)));
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...this.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 20_000 });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}\n${create.stderr}`);
    const deadline = Date.now() + 15_000;
    while (!this.ports.every((port) => this.cli(port, 'cluster', 'info').includes('cluster_state:ok'))) {
      if (Date.now() > deadline) throw new Error('Redis Cluster did not reach cluster_state:ok');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Run redis-cli against one node; returns stdout. */
  cli(port: number, ...args: string[]): string {
    return spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8' }).stdout ?? '';
  }

  /** Keys matching `pattern` each node holds, by port. */
  keyCounts(pattern = '*'): Map<number, number> {
    return new Map(this.ports.map((port) => [port, this.cli(port, '--scan', '--pattern', pattern).split('\n').filter(Boolean).length]));
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.#children.splice(0).map(async (child) => {
        if (child.pid === undefined || child.exitCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        process.kill(child.pid, 'SIGKILL');
        await exited;
      }),
    );
    if (this.#dir !== undefined) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }

  async #startNode(port: number): Promise<void> {
    const dir = this.#dir as string;
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir, '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#children.push(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server (cluster node) on ${port} did not start`)), 5_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`redis-server on ${port} exited with ${code}`)));
    });
  }
}
