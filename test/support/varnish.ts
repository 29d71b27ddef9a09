import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const hasVarnishd = spawnSync('varnishd', ['-V']).status === 0;

/** The repo's VCL (docs/varnish.vcl) with its backend pointed at `backendPort`. */
export function vclFor(backendPort: number): string {
  const vcl = readFileSync(join(import.meta.dirname, '../../docs/varnish.vcl'), 'utf8');
  const pointed = vcl.replace(/\.port = "\d+";/, `.port = "${backendPort}";`);
  if (pointed === vcl) throw new Error('docs/varnish.vcl has no `.port = "NNNN";` line to point at the app');
  return pointed;
}

/** A private varnishd on a loopback port, in a temporary work directory; stop() ends only this PID. */
export class VarnishProcess {
  #child: ChildProcess | undefined;
  #dir: string | undefined;
  constructor(
    readonly port: number,
    readonly backendPort: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'njkc-varnish-'));
    this.#dir = dir;
    chmodSync(dir, 0o755); // varnishd reads the VCL as its own unprivileged user
    const vcl = join(dir, 'app.vcl');
    writeFileSync(vcl, vclFor(this.backendPort));
    const child = spawn('varnishd', ['-F', '-n', join(dir, 'work'), '-a', `127.0.0.1:${this.port}`, '-T', '127.0.0.1:0', '-f', vcl, '-s', 'malloc,32m'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`varnishd on ${this.port} did not start:\n${output}`)), 15_000);
      const seen = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('Child launched OK')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', seen);
      child.stderr?.on('data', seen);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`varnishd exited with ${code}:\n${output}`));
      });
    });
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child?.pid !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(child.pid, 'SIGTERM'); // the manager stops its own cache child
      await exited;
    }
    if (this.#dir !== undefined) rmSync(this.#dir, { recursive: true, force: true });
  }
}
