/**
 * Load generator, in its own process so it never shares a core's event loop with a server:
 *
 *   load.ts <url> <connections> <warmupSeconds> <seconds>
 *
 * A warm-up run (discarded), then the measured run; reports requests per second and latency.
 */
import autocannon from 'autocannon';
import { report, reportFailure } from '../lib/child.js';

export interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  bytesPerRequest: number;
}

async function main(): Promise<void> {
  const [url, connections, warmup, seconds] = process.argv.slice(2);
  if (url === undefined || seconds === undefined) throw new Error('usage: load.ts <url> <connections> <warmupSeconds> <seconds>');
  const options = { url, connections: Number(connections), pipelining: 1 };
  if (Number(warmup) > 0) await autocannon({ ...options, duration: Number(warmup) });
  const result = await autocannon({ ...options, duration: Number(seconds) });
  const value: LoadResult = {
    rps: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    bytesPerRequest: result.requests.total > 0 ? result.throughput.total / result.requests.total : 0,
  };
  await report(value);
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    await reportFailure(error);
    process.exit(1);
  },
);
