/** `njk-cache render`: render one template through the cache and print the HTML. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import nunjucks from 'nunjucks';
import { installCache, render } from '../nunjucks.js';
import { CliError, count, EXIT_USAGE, messageOf, write, type Io } from './io.js';
import { checkStoreUrl, openCache, type StoreFlags } from './store.js';

export interface RenderFlags extends StoreFlags {
  context?: string;
  templates?: string;
  blockStart?: string;
  blockEnd?: string;
  stats?: boolean;
}

export async function renderCommand(template: string, flags: RenderFlags, io: Io): Promise<void> {
  await checkStoreUrl(flags, io);
  const dir = resolve(io.cwd, flags.templates ?? 'templates');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new CliError(`templates folder not found: ${dir}${flags.templates === undefined ? ' (the default is ./templates; pass --templates DIR)' : ''}.`);
  }
  const name = templateName(template, dir, io.cwd);
  if (!existsSync(resolve(dir, name)) || !statSync(resolve(dir, name)).isFile()) {
    throw new CliError(`template not found: "${name}" in ${dir}.`);
  }
  const context = flags.context === undefined ? {} : readContext(resolve(io.cwd, flags.context));

  const opened = await openCache(flags, io, { mustExist: true });
  try {
    let hits = 0;
    let misses = 0;
    opened.cache.on('hit', () => (hits += 1));
    opened.cache.on('stale', () => (hits += 1));
    opened.cache.on('miss', () => (misses += 1));
    const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir), {
      autoescape: true,
      tags: { blockStart: flags.blockStart ?? '<%', blockEnd: flags.blockEnd ?? '%>' },
    });
    installCache(env, opened.cache);
    let html: string;
    try {
      html = await render(env, name, context);
    } catch (error) {
      throw new CliError(`cannot render ${name}: ${messageOf(error)}`, 1, { cause: error });
    }
    await write(io.stdout, html.endsWith('\n') ? html : `${html}\n`);
    if (flags.stats) await write(io.stderr, `${name}: ${count(hits, 'fragment hit', 'fragment hits')}, ${count(misses, 'miss', 'misses')} (store ${opened.label}).\n`);
  } finally {
    await opened.close();
  }
}

/** A name under `dir`; a path such as `templates/home.njk` (relative to the working folder) works too. */
function templateName(template: string, dir: string, cwd: string): string {
  const asPath = resolve(cwd, template);
  if ((isAbsolute(template) || template.includes('/') || template.includes(sep)) && existsSync(asPath)) {
    const inside = relative(dir, asPath);
    if (!inside.startsWith('..') && !isAbsolute(inside)) return inside.split(sep).join('/');
    if (isAbsolute(template)) throw new CliError(`template ${asPath} is outside the templates folder ${dir}; pass --templates with its folder.`, EXIT_USAGE);
  }
  return template;
}

function readContext(path: string): object {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read the context file ${path}: ${messageOf(error)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(`the context file ${path} is not valid JSON: ${messageOf(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CliError(`the context file ${path} must hold a JSON object ({"name": value, …}); got ${Array.isArray(value) ? 'an array' : typeof value}.`);
  }
  return value;
}
