/**
 * `npm run bench` — runs the row groups, prints one table, writes bench/results/latest.json.
 *
 *   npm run bench                          every group (Redis rows need REDIS_URL, PostgreSQL rows POSTGRES_URL)
 *   npm run bench -- --only fragments,http one or more groups: fragments, stores, memory, http
 *   npm run bench -- --quick               a smoke run: short timings, one round
 *   npm run bench -- --out file.json       write the results elsewhere
 *   npm run bench -- --markdown            also print the table as Markdown (see also report.ts)
 *
 * A full run writes bench/results/latest.json (committed); a `--quick` or `--only` run writes
 * bench/results/partial.json (ignored) unless `--out` says otherwise, so a partial run never
 * replaces the committed numbers.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runFragments } from './fragments.js';
import { runHttp } from './http.js';
import { runMemory } from './memory.js';
import { runStores } from './stores.js';
import { markdownTable, textTable } from './lib/format.js';
import type { BenchContext, GroupName, GroupResult } from './lib/types.js';

const GROUPS: Record<GroupName, (context: BenchContext) => Promise<GroupResult>> = {
  fragments: runFragments,
  stores: runStores,
  memory: runMemory,
  http: runHttp,
};
const ORDER: GroupName[] = ['fragments', 'stores', 'memory', 'http'];

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

function git(...args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      markdown: { type: 'boolean', default: false },
    },
  });
  const only = values.only === undefined ? ORDER : values.only.split(',').map((name) => name.trim()).filter(Boolean);
  for (const name of only) {
    if (!(name in GROUPS)) throw new Error(`Unknown bench group "${name}". Groups: ${ORDER.join(', ')}.`);
  }
  const selected = ORDER.filter((name) => only.includes(name));
  const context: BenchContext = {
    quick: values.quick ?? false,
    redisUrl: process.env.REDIS_URL || undefined,
    postgresUrl: process.env.POSTGRES_URL || undefined,
    log: (message) => process.stderr.write(`  ${message}\n`),
  };

  const started = Date.now();
  const load = loadavg();
  const groups: GroupResult[] = [];
  for (const name of selected) {
    process.stderr.write(`bench: ${name}\n`);
    const t = Date.now();
    groups.push(await GROUPS[name](context));
    process.stderr.write(`bench: ${name} done in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
  }

  const partial = context.quick || selected.length !== ORDER.length;
  const srcStatus = git('status', '--porcelain', '--', 'src');
  const result = {
    date: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform} ${process.arch}`,
    /** 1, 5 and 15-minute load averages when the run started: other work on the machine skews absolute numbers. */
    load: load.map((n) => Math.round(n * 100) / 100),
    commit: git('rev-parse', '--short', 'HEAD'),
    srcModified: srcStatus === undefined ? undefined : srcStatus !== '',
    redis: context.redisUrl === undefined ? null : context.redisUrl.replace(/\/\/[^@/]*@/, '//***@'),
    postgres: context.postgresUrl === undefined ? null : context.postgresUrl.replace(/\/\/[^@/]*@/, '//***@'),
    quick: context.quick,
    groups: selected,
    seconds: Math.round((Date.now() - started) / 1000),
    rows: groups.flatMap((group) => group.rows),
    skipped: groups.flatMap((group) => group.skipped),
    detail: Object.fromEntries(groups.map((group) => [group.group, group.detail ?? {}])),
  };

  const out = values.out ?? join(here, 'results', partial ? 'partial.json' : 'latest.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);

  process.stdout.write(`\n${textTable(result.rows, result.skipped)}\n\n`);
  if (values.markdown) process.stdout.write(`${markdownTable(result.rows, result.skipped)}\n\n`);
  process.stdout.write(`${result.node} on ${result.cpu} (${result.cores} cores), ${result.seconds} s; wrote ${relative(process.cwd(), out) || out}\n`);
}

main().then(
  // Drivers (Redis sockets, SQLite handles) are closed, but a stray timer must not keep us here.
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
