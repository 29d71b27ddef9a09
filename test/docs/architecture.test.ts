/**
 * docs/architecture.md stays true to the code: every source file is listed, the layer rules hold
 * for the real imports, and the envelope is what the cache really writes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Keyv } from 'keyv';
import { describe, expect, it } from 'vitest';
import { createCache } from '../../src/index.js';
import { createEnvironment, render } from '../../src/nunjucks.js';
import { ManualClock } from '../../src/testing.js';
import { ENTRY_POINTS, ROOT, docOutput, readPage } from './support/docs.js';

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return filesUnder(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function sourceFiles(): string[] {
  return filesUnder('src');
}

/** Relative imports of a file, as repository paths (`src/core/keys.ts`). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import\(?)\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1] as string);
  return specifiers.map((s) => relative(ROOT, resolve(dirname(join(ROOT, file)), s)).replace(/\.js$/, '.ts'));
}

/** The entry points' files, as package.json declares them (`src/index.ts`, `src/http.ts`, …). */
const ENTRY_FILES = Object.values(ENTRY_POINTS);
const isEntry = (t: string) => ENTRY_FILES.includes(t);
const under = (...dirs: string[]) => (t: string) => dirs.some((dir) => t.startsWith(dir));

/**
 * Who may import whom: layers point down only (docs/architecture.md draws them). The contracts
 * are a leaf; core and stores sit side by side on it and never import each other; the
 * composition layer is the one place that knows both.
 */
const RULES: Array<[string, (target: string) => boolean]> = [
  ['src/contracts/', () => false],
  ['src/shared/', under('src/shared/', 'src/contracts/')],
  ['src/stores/', under('src/stores/', 'src/shared/', 'src/contracts/')],
  ['src/core/', under('src/core/', 'src/shared/', 'src/contracts/')],
  ['src/nunjucks/', under('src/nunjucks/', 'src/core/', 'src/shared/', 'src/contracts/')],
  ['src/view/', under('src/view/', 'src/nunjucks/', 'src/core/', 'src/shared/', 'src/contracts/')],
  ['src/http/', under('src/http/', 'src/core/', 'src/shared/', 'src/contracts/')],
  ['src/compose/', under('src/compose/', 'src/core/', 'src/stores/', 'src/shared/', 'src/contracts/')],
  ['src/testing/', under('src/testing/', 'src/compose/', 'src/nunjucks/', 'src/core/', 'src/contracts/')],
  ['src/types/', under('src/core/', 'src/stores/', 'src/http/', 'src/contracts/')],
  ['src/cli/', (t) => t.startsWith('src/cli/') || t.startsWith('src/shared/') || isEntry(t)],
  // The entry points re-export the layers and the namespaces; nothing imports an entry point but
  // the CLI, the demo, the benchmarks and the tests.
  ['src/', (t) => !t.startsWith('src/cli/') && !isEntry(t)],
  // The demo and the benchmarks use the library as an application would: its entry points only.
  ['app/', (t) => t.startsWith('app/') || isEntry(t)],
  ['bench/', (t) => t.startsWith('bench/') || isEntry(t)],
];

describe('docs/architecture.md', () => {
  const page = readPage('architecture.md');

  it('lists every file in src/', () => {
    const unlisted = sourceFiles().filter((file) => !page.includes(`\`${file}\``));
    expect(unlisted).toEqual([]);
  });

  it('lists no file that does not exist', () => {
    const files = new Set(sourceFiles());
    const listed = [...page.matchAll(/`(src\/[\w/-]+\.ts)`/g)].map((m) => m[1] as string);
    expect(listed.filter((file) => !files.has(file))).toEqual([]);
  });

  it('has imports that follow the layer rules, in src/, app/ and bench/', () => {
    const broken: string[] = [];
    for (const file of [...sourceFiles(), ...filesUnder('app'), ...filesUnder('bench')]) {
      const rule = RULES.find(([dir]) => file.startsWith(dir));
      if (rule === undefined) throw new Error(`no layer rule for ${file}`);
      for (const target of importsOf(file)) if (!rule[1](target)) broken.push(`${file} → ${target}`);
    }
    expect(broken).toEqual([]);
  });

  it('shows every directory of src/ in the table of rules', () => {
    const section = page.slice(page.indexOf('## Layers'), page.indexOf('## Modules'));
    const dirs = [...new Set(sourceFiles().map((file) => file.replace(/[^/]+$/, '')))].filter((dir) => dir !== 'src/');
    expect(dirs.filter((dir) => !section.includes(`| \`${dir}\` |`))).toEqual([]);
  });

  it('keeps the entry points and namespaces to re-exports (types apart in the namespaces)', () => {
    const offenders: string[] = [];
    for (const file of [...ENTRY_FILES, ...filesUnder('src/types')]) {
      const statements = readFileSync(join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').split(';').map((st) => st.trim()).filter(Boolean);
      const typesOnly = file.startsWith('src/types/');
      for (const st of statements) if (!(typesOnly ? /^export type [\s\S]* from '/ : /^export (type )?[\s\S]* from '/).test(st)) offenders.push(`${file}: ${st.slice(0, 60)}`);
    }
    expect(offenders).toEqual([]);
  });

  it('keeps src/contracts/ a leaf that imports nothing of ours', () => {
    expect(filesUnder('src/contracts').flatMap(importsOf)).toEqual([]);
  });

  it('describes every field of the envelope, and no other', () => {
    const source = readFileSync(join(ROOT, 'src/core/envelope.ts'), 'utf8');
    const body = /export interface Envelope \{([\s\S]*?)\n\}/.exec(source)?.[1] ?? '';
    const fields = [...body.matchAll(/^\s{2}(\w+)\??:/gm)].map((m) => m[1]);
    const section = page.slice(page.indexOf('## The envelope'), page.indexOf('## A fragment'));
    const documented = [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
    expect(documented).toEqual(fields);
  });

  it('shows the envelope the cache really writes', async () => {
    const raw = new Map<string, unknown>();
    const cache = createCache({ store: new Keyv({ store: raw, namespace: 'njkc' }), keyPrefix: 'blog', clock: new ManualClock(Date.UTC(2026, 0, 1)) });
    const source = '<% cache 60 post_card post.id post.updatedAt tags="posts" %><article>…</article><% endcache %>';
    const env = createEnvironment({ getSource: (name: string) => ({ src: source, path: name, noCache: false }) }, { cache });
    await render(env, 'card.njk', { post: { id: 42, updatedAt: '2026-01-03' } });
    // Normalise what varies from run to run: the random token, the render time, and Keyv's
    // `expires`, which is real time while the envelope's times follow the fake clock.
    const shown = [...raw.entries()]
      .map(([key, value]) => `${key}\n  → ${String(value)}`)
      .join('\n')
      .replace(/"[a-z0-9]{8}\.[\w-]{8}"/g, '"TOKEN"')
      .replace(/"ms":[\d.]+/, '"ms":MS')
      .replace(/"expires":\d+/g, '"expires":EXPIRES');
    const expected = docOutput('envelope').replace(/"[a-z0-9]{8}\.[\w-]{8}"/g, '"TOKEN"').replace(/"ms":[\d.]+/, '"ms":MS').replace(/"expires":\d+/g, '"expires":EXPIRES');
    expect(shown).toBe(expected);
  });
});
