/**
 * Print a results file as the Markdown that docs/benchmarks.md shows:
 *
 *   npx tsx bench/report.ts [bench/results/latest.json]
 */
import { readFileSync } from 'node:fs';
import { markdownTable } from './lib/format.js';
import type { Row } from './lib/types.js';

interface Results {
  date: string;
  command: string;
  node: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  commit?: string;
  srcModified?: boolean;
  redis: string | null;
  quick: boolean;
  seconds: number;
  load?: number[];
  rows: Row[];
  skipped: string[];
}

const file = process.argv[2] ?? new URL('./results/latest.json', import.meta.url);
const results = JSON.parse(readFileSync(file, 'utf8')) as Results;
const lines = [
  `- Date: ${results.date.slice(0, 10)} (${results.date})`,
  `- Command: \`${results.redis ? `REDIS_URL=${results.redis} ` : ''}${results.command}\`${results.quick ? ' (quick: smoke timings)' : ''}, ${results.seconds} s`,
  `- Node ${results.node}, ${results.platform}; CPU: ${results.cpu}, ${results.cores} cores, ${results.memoryGiB} GiB${results.load ? `; load average at start ${results.load.map((n) => n.toFixed(2)).join(', ')}` : ''}`,
  `- Code: commit ${results.commit ?? 'unknown'}${results.srcModified ? ' with uncommitted changes in src/' : ''}`,
  '',
  markdownTable(results.rows, results.skipped),
];
process.stdout.write(`${lines.join('\n')}\n`);
