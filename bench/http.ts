import type { BenchContext, GroupResult } from './lib/types.js';

export async function runHttp(_context: BenchContext): Promise<GroupResult> {
  return { group: 'http', rows: [], skipped: ['http: not written yet'] };
}
