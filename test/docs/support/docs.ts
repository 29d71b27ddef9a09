/**
 * The docs are tested: every code block in a docs page either names the file region it was copied
 * from (`<!-- example: test/docs/examples/lazy-data.ts#example -->`), and `snippets.test.ts` checks
 * that the two are identical, or is a result (`<!-- output: lazy-data -->`) that an example test
 * compares with what the code really printed.
 */
import { existsSync, readFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The package's name, as users import it. */
export const PACKAGE = 'nunjucks-fragment-cache';

/**
 * The entry points, as package.json's `exports` declares them: the specifier a user imports
 * (`nunjucks-fragment-cache/http`) → its source file (`src/http.ts`).
 */
export const ENTRY_POINTS: Readonly<Record<string, string>> = (() => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string | { default: string }> };
  const entries: Record<string, string> = {};
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue; // ./package.json
    const source = target.default.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts');
    entries[subpath === '.' ? PACKAGE : `${PACKAGE}/${subpath.slice(2)}`] = source;
  }
  return entries;
})();

/** The pages this suite checks (the docs team's); other pages are only checked for links. */
export const TESTED_PAGES = [
  'README.md',
  'getting-started.md',
  'stores.md',
  'fragments.md',
  'views.md',
  'invalidation.md',
  'django-guide.md',
  'api.md',
  'architecture.md',
  'dependencies.md',
] as const;

/** Languages that are our code and so must be marked; Django's Python and templates are not. */
export const CHECKED_LANGS = new Set(['ts', 'js', 'njk', 'html', 'json']);

export interface Marker {
  /** `fragment`: shown on purpose without being run (a shell command, a diagram); `ref` says why. */
  kind: 'example' | 'output' | 'fragment';
  ref: string;
}

export interface Block {
  page: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  text: string;
  marker: Marker | undefined;
}

const pageCache = new Map<string, Block[]>();

export function readPage(page: string): string {
  return readFileSync(join(ROOT, 'docs', page), 'utf8');
}

/** The fenced blocks of a docs page, each with the marker comment on the line before it, if any. */
export function blocksOf(page: string): Block[] {
  const known = pageCache.get(page);
  if (known) return known;
  const blocks = parseBlocks(page, readPage(page));
  pageCache.set(page, blocks);
  return blocks;
}

/** The fenced blocks of any Markdown text (`page` names it in the result). */
export function parseBlocks(page: string, markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^(\s*)(```+)([\w-]*)\s*$/.exec(lines[i] as string);
    if (!open) continue;
    const [, indent = '', fence = '```', lang = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && (lines[j] as string).trim() !== fence) {
      body.push((lines[j] as string).startsWith(indent) ? (lines[j] as string).slice(indent.length) : (lines[j] as string));
      j += 1;
    }
    const previous = i > 0 ? (lines[i - 1] as string).trim() : '';
    const m = /^<!--\s*(example|output|fragment):\s*(.*?)\s*-->$/.exec(previous);
    blocks.push({ page, line: i + 1, lang, text: body.join('\n'), marker: m ? { kind: m[1] as Marker['kind'], ref: m[2] as string } : undefined });
    i = j;
  }
  return blocks;
}

/** The text of the block marked `<!-- output: name -->` in any tested page. */
export function docOutput(name: string): string {
  const found = TESTED_PAGES.filter((page) => existsSync(join(ROOT, 'docs', page)))
    .flatMap((page) => blocksOf(page)).filter((b) => b.marker?.kind === 'output' && b.marker.ref === name);
  if (found.length !== 1) throw new Error(`Expected exactly one docs block marked <!-- output: ${name} -->, found ${found.length}.`);
  return (found[0] as Block).text;
}

/**
 * The text a docs block must equal for `ref` = `path` (whole file) or `path#region` (the lines
 * between `// #region name` and `// #endregion`, or `{# #region name #}` in templates), dedented,
 * with imports of the source tree shown as imports of the package.
 */
export function sourceFor(ref: string): string {
  const [path = '', name] = ref.split('#');
  const text = readFileSync(join(ROOT, path), 'utf8');
  let lines = text.replace(/\n$/, '').split('\n');
  if (name !== undefined) {
    const start = lines.findIndex((l) => new RegExp(`#region ${name}\\b`).test(l));
    if (start < 0) throw new Error(`No "#region ${name}" in ${path}.`);
    const end = lines.findIndex((l, i) => i > start && /#endregion\b/.test(l));
    if (end < 0) throw new Error(`"#region ${name}" in ${path} is not closed by #endregion.`);
    lines = lines.slice(start + 1, end);
  } else {
    lines = lines.filter((l) => !/#(end)?region\b/.test(l));
  }
  return normalise(dedent(lines).join('\n'));
}

export function dedent(lines: string[]): string[] {
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0);
  const cut = indents.length === 0 ? 0 : Math.min(...indents);
  return lines.map((l) => l.slice(cut));
}

/**
 * The package as a user imports it: `from '../../src/index.js'` reads `from 'nunjucks-fragment-cache'`,
 * `from '../../src/http.js'` reads `from 'nunjucks-fragment-cache/http'`, for every entry point.
 */
export function normalise(code: string): string {
  return code.replace(/from '(?:\.\.\/)+(src\/[\w-]+)\.js'/g, (found, path: string) => {
    const specifier = Object.entries(ENTRY_POINTS).find(([, source]) => source === `${path}.ts`)?.[0];
    return specifier === undefined ? found : `from '${specifier}'`;
  });
}

/**
 * Run examples the way a user would: in a fresh folder holding `templates/` (the docs templates),
 * so `createEnvironment('templates', …)` and `sqlite://cache.db` mean what they say.
 * Test files run in separate processes (vitest `pool: 'forks'`), so changing directory is safe.
 */
export function enterSite(): { dir: string; leave: () => void } {
  const previous = process.cwd();
  const dir = mkdtempSync(join(tmpdir(), 'njkc-docs-'));
  symlinkSync(join(ROOT, 'test/docs/templates'), join(dir, 'templates'), 'dir');
  process.chdir(dir);
  return {
    dir,
    leave: () => {
      process.chdir(previous);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
