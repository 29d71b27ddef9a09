/**
 * `njk-cache warm`: request pages so their fragments are rendered and stored before users come.
 * Progress goes to stderr (a bar on a terminal, one line per URL otherwise), the summary to stdout.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CliError, count, EXIT_USAGE, formatMs, messageOf, write, type Io } from './io.js';
import { checkStoreUrl, openCache, storeUrl, type StoreFlags } from './store.js';

export interface WarmFlags extends StoreFlags {
  file?: string;
  concurrency?: string;
  quiet?: boolean;
}

interface Outcome {
  url: string;
  status?: number;
  error?: string;
  ms: number;
  hits?: number;
  misses?: number;
}

export async function warmCommand(args: string[], flags: WarmFlags, io: Io): Promise<void> {
  await checkStoreUrl(flags, io);
  const urls = [...args, ...(flags.file === undefined ? [] : readUrlFile(resolve(io.cwd, flags.file)))].map(checkUrl);
  if (urls.length === 0) throw new CliError('no URLs to warm: give them as arguments or with --file urls.txt (one per line).', EXIT_USAGE);
  const concurrency = flags.concurrency === undefined ? 4 : Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new CliError(`--concurrency must be a whole number from 1 to 64; got "${flags.concurrency}".`, EXIT_USAGE);
  }
  const timeoutMs = flags.timeout === undefined ? 30_000 : Number(flags.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new CliError(`--timeout must be a whole number of milliseconds above 0; got "${flags.timeout}".`, EXIT_USAGE);

  // The store is optional here: named (not the private memory store), it shows entries before and after.
  const named = storeUrl(flags, io) !== 'memory';
  const opened = named ? await openCache(flags, io, { mustExist: true }) : undefined;
  try {
    const before = opened ? await opened.cache.usage().catch(() => ({}) as { entries?: number }) : undefined;
    const progress = new Progress(io, urls.length, flags.quiet ?? false);
    const started = performance.now();
    const outcomes: Outcome[] = new Array(urls.length);
    let next = 0;
    const worker = async () => {
      while (next < urls.length) {
        const index = next++;
        const outcome = await fetchOne(urls[index] as string, timeoutMs);
        outcomes[index] = outcome;
        await progress.done(outcome);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, urls.length) }, worker));
    await progress.finish();
    const elapsed = performance.now() - started;
    const after = opened ? await opened.cache.usage().catch(() => ({}) as { entries?: number }) : undefined;

    const failed = outcomes.filter((o) => o.error !== undefined || (o.status !== undefined && o.status >= 400));
    const ok = outcomes.length - failed.length;
    const measured = outcomes.filter((o) => o.misses !== undefined);
    const lines = [`Warmed ${count(urls.length, 'URL', 'URLs')} in ${formatMs(elapsed)}: ${ok} OK, ${failed.length} failed.`];
    if (measured.length > 0) {
      const misses = measured.reduce((n, o) => n + (o.misses ?? 0), 0);
      const hits = measured.reduce((n, o) => n + (o.hits ?? 0), 0);
      lines.push(`Cache lookups reported by Server-Timing: ${count(misses, 'miss', 'misses')} (rendered and stored now), ${count(hits, 'hit', 'hits')} (already warm).`);
    }
    if (before?.entries !== undefined && after?.entries !== undefined) lines.push(`Entries in ${opened?.label}: ${before.entries} → ${after.entries}.`);
    for (const f of failed) lines.push(`  failed: ${f.url}: ${f.error ?? `HTTP ${f.status}`}`);
    await write(io.stdout, `${lines.join('\n')}\n`);
    if (failed.length > 0) throw new CliError(`${failed.length} of ${urls.length} URLs failed.`);
  } finally {
    await opened?.close();
  }
}

function readUrlFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read the URL file ${path}: ${messageOf(error)}`);
  }
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function checkUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`not a URL: "${text}" (write it in full, such as http://127.0.0.1:3000/).`, EXIT_USAGE);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`only http:// and https:// URLs can be warmed; got "${text}".`, EXIT_USAGE);
  return url.toString();
}

async function fetchOne(url: string, timeoutMs: number): Promise<Outcome> {
  const started = performance.now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { 'user-agent': 'njk-cache-warm' } });
    await response.arrayBuffer(); // read it all: the page is rendered (and stored) by the time it ends
    const outcome: Outcome = { url, status: response.status, ms: performance.now() - started };
    const timing = /cache;desc="(\d+) hits?, (\d+) miss(?:es)?/.exec(response.headers.get('server-timing') ?? '');
    if (timing) {
      outcome.hits = Number(timing[1]);
      outcome.misses = Number(timing[2]);
    }
    return outcome;
  } catch (error) {
    const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : messageOf((error as { cause?: unknown }).cause ?? error);
    return { url, error: reason, ms: performance.now() - started };
  }
}

/** A bar redrawn in place on a terminal; plain lines when stderr is a file or a pipe. */
class Progress {
  readonly #io: Io;
  readonly #total: number;
  readonly #quiet: boolean;
  readonly #tty: boolean;
  #done = 0;
  #failed = 0;

  constructor(io: Io, total: number, quiet: boolean) {
    this.#io = io;
    this.#total = total;
    this.#quiet = quiet;
    this.#tty = io.stderr.isTTY === true;
  }

  async done(outcome: Outcome): Promise<void> {
    this.#done += 1;
    if (outcome.error !== undefined || (outcome.status ?? 0) >= 400) this.#failed += 1;
    if (this.#quiet) return;
    if (this.#tty) {
      const width = 30;
      const filled = Math.round((this.#done / this.#total) * width);
      const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
      await write(this.#io.stderr, `\r[${bar}] ${this.#done}/${this.#total}  failed ${this.#failed}`);
    } else {
      const what = outcome.error === undefined ? String(outcome.status) : 'ERR';
      await write(this.#io.stderr, `[${this.#done}/${this.#total}] ${what} ${formatMs(outcome.ms)} ${outcome.url}\n`);
    }
  }

  async finish(): Promise<void> {
    if (this.#tty && !this.#quiet) await write(this.#io.stderr, '\n');
  }
}
