/**
 * Load generator, in its own process so it never shares an event loop with a server. It starts
 * once, reports ready, then runs one autocannon burst per request from the parent:
 *
 *   { url, connections, seconds }  →  LoadResult
 */
import autocannon from 'autocannon';
import { report, reportFailure, serveRequests } from '../lib/child.js';

export interface LoadRequest {
  url: string;
  connections: number;
  seconds: number;
}

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

async function burst({ url, connections, seconds }: LoadRequest): Promise<LoadResult> {
  const result = await autocannon({ url, connections, pipelining: 1, duration: seconds });
  return {
    // Total over the burst's duration: the per-second samples behind requests.average are too few in a short burst.
    rps: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    bytesPerRequest: result.requests.total > 0 ? result.throughput.total / result.requests.total : 0,
  };
}

serveRequests((message) => burst(message as unknown as LoadRequest));
report({ pid: process.pid }).catch(async (error: unknown) => {
  await reportFailure(error);
  process.exit(1);
});
