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
import { ROOT, docOutput, readPage } from './support/docs.js';

function sourceFiles(dir = join(ROOT, 'src')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [relative(ROOT, path)] : [];
  });
}

/** Relative imports of a source file, as repository paths (`src/core/keys.ts`). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1] as string);
  return specifiers.map((s) => relative(ROOT, resolve(dirname(join(ROOT, file)), s)).replace(/\.js$/, '.ts'));
}

const RULES: Record<string, (target: string) => boolean> = {
  'src/stores/': (t) => t.startsWith('src/stores/') || t === 'src/core/errors.ts',
  'src/core/': (t) => t.startsWith('src/core/') || t.startsWith('src/stores/'),
  'src/nunjucks/': (t) => t.startsWith('src/nunjucks/') || t.startsWith('src/core/'),
  'src/view/': (t) => t.startsWith('src/view/') || t.startsWith('src/nunjucks/') || t.startsWith('src/core/'),
  'src/http/': (t) => t.startsWith('src/http/') || t.startsWith('src/core/'),
  'src/cli/': (t) => t.startsWith('src/cli/') || t === 'src/index.ts',
};

describe('docs/architecture.md', () => {
  const page = readPage('architecture.md');

  it('lists every file in src/', () => {
    const unlisted = sourceFiles().filter((file) => file !== 'src/index.ts' && !page.includes(`\`${file}\``));
    expect(unlisted).toEqual([]);
  });

  it('lists no file that does not exist', () => {
    const files = new Set(sourceFiles());
    const listed = [...page.matchAll(/`(src\/[\w/-]+\.ts)`/g)].map((m) => m[1] as string);
    expect(listed.filter((file) => !files.has(file))).toEqual([]);
  });

  it('has imports that follow the layer rules', () => {
    const broken: string[] = [];
    for (const file of sourceFiles()) {
      const rule = Object.entries(RULES).find(([dir]) => file.startsWith(dir));
      if (rule === undefined) continue; // src/index.ts
      for (const target of importsOf(file)) if (!rule[1](target)) broken.push(`${file} → ${target}`);
    }
    expect(broken).toEqual([]);
  });

  it('keeps src/core/errors.ts a leaf, as the stores rule assumes', () => {
    expect(importsOf('src/core/errors.ts')).toEqual([]);
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
