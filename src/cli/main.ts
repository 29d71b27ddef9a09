/**
 * `njk-cache`: manage a fragment cache from a shell. Every command takes `--store URL` (default:
 * $CACHE_URL, else "memory") and exits 0 when done, 1 when the operation failed (unreachable
 * store, missing template, failed URLs), 2 when the command line is wrong.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { clearCommand, createTableCommand, invalidateCommand, invalidateTagCommand, statsCommand } from './admin.js';
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE, messageOf, processIo, write, type Io } from './io.js';
import { renderCommand } from './render.js';
import { DEFAULT_TIMEOUT_MS } from './store.js';
import { warmCommand } from './warm.js';

const STORE_HELP = `
Store URLs: memory, sqlite://path/to/cache.db (relative), sqlite:///abs/path.db, redis://host:6379/0.
The default is $CACHE_URL, else "memory" (private to this process: fine for render, useless for the rest).

Exit status: 0 done, 1 the operation failed (unreachable store, missing template, failed URLs),
2 the command line is wrong (unknown option, bad store URL, bad value).`;

function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i += 1) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'nunjucks-fragment-cache') return pkg.version ?? '0.0.0';
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

/** `--store`, `--key-prefix`, `--timeout` on one command. */
function storeOptions(command: Command, timeoutHelp = `store timeout, ms (default ${DEFAULT_TIMEOUT_MS})`): Command {
  return command
    .option('--store <url>', 'cache store URL (default: $CACHE_URL, else "memory")')
    .option('--key-prefix <prefix>', "key prefix the app's cache uses (default: $CACHE_KEY_PREFIX, else none)")
    .option('--key-version <n>', "key version the app's cache uses (its \"version\" option; default: $CACHE_KEY_VERSION, else 1)")
    .option('--timeout <ms>', timeoutHelp)
    .addHelpText('after', STORE_HELP);
}

export function buildProgram(io: Io): Command {
  const program = new Command('njk-cache')
    .description('Manage a nunjucks-fragment-cache store: render, invalidate, clear, inspect, create its table, warm it.')
    .version(version(), '-V, --version')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
      outputError: (text, writeErr) => writeErr(text.replace(/^error:/, 'njk-cache: error:')),
    });

  storeOptions(
    program
      .command('render')
      .description('render a template through the cache and print the HTML')
      .argument('<template>', 'template name inside --templates (or a path to it)')
      .option('--context <file.json>', 'JSON object with the template variables')
      .option('--templates <dir>', 'templates folder (default: ./templates)')
      .option('--block-start <text>', 'block tag start (default: <%)')
      .option('--block-end <text>', 'block tag end (default: %>)')
      .option('--stats', 'print fragment hits and misses to stderr'),
  ).action((template: string, flags) => renderCommand(template, flags, io));

  storeOptions(
    program
      .command('invalidate')
      .description('remove one fragment, keyed exactly as the cache tag keyed it')
      .argument('<name>', 'fragment name, as in <% cache 600 NAME … %>')
      .argument('[vary...]', 'vary-on values: JSON when they parse (42 is a number, \'"42"\' a string), else strings')
      .option('--raw-strings', 'take every vary-on value as a string, never as JSON')
      .option('--varnish <url>', "also purge a Varnish (xkey, docs/varnish.vcl) by the fragment's implicit tag (default: $CACHE_VARNISH_URL)")
      .addHelpText(
        'after',
        `
Examples:
  njk-cache invalidate sidebar                     <% cache 600 sidebar %>
  njk-cache invalidate card 42                     <% cache 600 card post.id %> with post.id the number 42
  njk-cache invalidate card '"42"'                 … with post.id the string "42"
  njk-cache invalidate --raw-strings page home 2   … with two strings, "home" and "2"
  njk-cache invalidate delta -- -1                 values starting with "-" go after --`,
      ),
  ).action((name: string, vary: string[], flags) => invalidateCommand(name, vary, flags, io));

  storeOptions(
    program
      .command('invalidate-tag')
      .description('make every entry carrying a tag miss (tags=[…] on the cache tag)')
      .argument('<tag...>', 'one or more tags')
      .option('--varnish <url>', 'also purge a Varnish (xkey, docs/varnish.vcl) by the same tags (default: $CACHE_VARNISH_URL)'),
  ).action((tags: string[], flags) => invalidateTagCommand(tags, flags, io));

  storeOptions(program.command('clear').description("remove every entry of the cache (other applications' keys in the store are kept)")).action((flags) =>
    clearCommand(flags, io),
  );

  storeOptions(
    program
      .command('stats')
      .description('what the store can tell (entries, bytes); hit/miss counters from a running app with --app')
      .option('--app <url>', "also read hit/miss counters from a running app's dashboard, e.g. http://127.0.0.1:3000")
      .option('--token <token>', 'dashboard token for --app (default: $CACHE_DASHBOARD_TOKEN)')
      .option('--json', 'print JSON'),
  ).action((flags) => statsCommand(flags, io));

  storeOptions(
    program.command('create-table').description("create the cache table of a SQL store now (Django's createcachetable); nothing to do for others"),
  ).action((flags) => createTableCommand(flags, io));

  storeOptions(
    program
      .command('warm')
      .description('request URLs so their fragments are rendered and stored, with a progress bar and a summary')
      .argument('[url...]', 'URLs to request')
      .option('--file <urls.txt>', 'read URLs from a file, one per line (# comments allowed)')
      .option('--concurrency <n>', 'requests at a time (default 4)')
      .option('--quiet', 'no progress output'),
    'per-request timeout, ms (default 30000)',
  ).action((urls: string[], flags) => warmCommand(urls, flags, io));

  return program;
}

/** Run the CLI; resolves with the exit status instead of exiting. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version "errors" are successes; commander has already printed its message.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT_OK;
      if (error.code === 'commander.executeSubCommandAsync') return EXIT_FAILED;
      return EXIT_USAGE;
    }
    if (error instanceof CliError) {
      await write(io.stderr, `njk-cache: error: ${error.message}\n`);
      return error.exitCode;
    }
    await write(io.stderr, `njk-cache: error: ${messageOf(error)}\n`);
    return EXIT_FAILED;
  }
}
