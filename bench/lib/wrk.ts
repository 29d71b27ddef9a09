/**
 * HTTP load with `wrk` (the Debian package), in its own process, pinned to one core with
 * `taskset` while the server under load is pinned to another (see `pinToCore`). A Lua `done` hook
 * prints the burst's figures as JSON, with wrk's own CPU time read from /proc/self/stat at the end
 * (all its threads, user + system), so the table can show whether the load generator, rather than
 * the server, was the limit.
 */
import { execFileSync, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WrkRequest {
  url: string;
  connections: number;
  seconds: number;
  /** Core to pin wrk to (taskset -c); undefined runs it unpinned. */
  core: number | undefined;
}

export interface WrkResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Connect, read, write errors and timeouts. */
  errors: number;
  non2xx: number;
  /** wrk's own CPU time (user + system, all threads) per request, µs. */
  loadCpuUsPerRequest: number;
  /** wrk's CPU time ÷ the burst's duration: 1 means the load generator used a whole core. */
  loadCpuShare: number;
}

const LUA = `
done = function(summary, latency, requests)
  local f = io.open("/proc/self/stat", "r")
  local stat = f:read("*a")
  f:close()
  local rest = stat:match("%) (.*)")
  local fields = {}
  for word in rest:gmatch("%S+") do fields[#fields + 1] = word end
  -- rest starts at field 3 (state): utime is field 14, stime field 15
  local e = summary.errors
  io.write(string.format('WRK-RESULT {"requests":%d,"durationUs":%d,"errors":%d,"non2xx":%d,"p50Us":%d,"p99Us":%d,"ticks":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), tonumber(fields[12]) + tonumber(fields[13])))
end
`;

let script: string | undefined;
let ticksPerSecond: number | undefined;

/** Whether wrk and taskset are here, and how many cores there are to pin to. */
export function wrkSetup(): { wrk: boolean; pinning: boolean } {
  const has = (command: string) => {
    try {
      execFileSync(command, ['--version'], { stdio: 'ignore' });
      return true;
    } catch (error) {
      // wrk --version exits with 1 after printing its version.
      return (error as { status?: number | null }).status === 1;
    }
  };
  return { wrk: has('wrk'), pinning: has('taskset') && cpus().length >= 2 };
}

/** Pin a process and all its threads to one core. */
export function pinToCore(pid: number, core: number): void {
  execFileSync('taskset', ['-a', '-cp', String(core), String(pid)], { stdio: 'ignore' });
}

export async function runWrk({ url, connections, seconds, core }: WrkRequest): Promise<WrkResult> {
  if (script === undefined) {
    script = join(tmpdir(), `njkc-bench-wrk-${process.pid}.lua`);
    writeFileSync(script, LUA);
    const file = script;
    process.on('exit', () => rmSync(file, { force: true }));
  }
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const wrkArgs = ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', script, url];
  const [command, args] = core === undefined ? ['wrk', wrkArgs] : ['taskset', ['-c', String(core), 'wrk', ...wrkArgs]];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(command as string, args as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited with ${code}: ${err || out}`))));
  });
  const line = output.split('\n').find((l) => l.startsWith('WRK-RESULT '));
  if (line === undefined) throw new Error(`wrk printed no result:\n${output}`);
  const r = JSON.parse(line.slice('WRK-RESULT '.length)) as { requests: number; durationUs: number; errors: number; non2xx: number; p50Us: number; p99Us: number; ticks: number };
  const cpuUs = (r.ticks / ticksPerSecond) * 1e6;
  return {
    rps: r.requests / (r.durationUs / 1e6),
    p50Ms: r.p50Us / 1000,
    p99Ms: r.p99Us / 1000,
    requests: r.requests,
    errors: r.errors,
    non2xx: r.non2xx,
    loadCpuUsPerRequest: cpuUs / Math.max(1, r.requests),
    loadCpuShare: cpuUs / r.durationUs,
  };
}
