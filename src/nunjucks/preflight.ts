/**
 * A compile-time check for the one Nunjucks limit the tag itself cannot see.
 *
 * Nunjucks does not wait for async work inside an `include` that sits in a plain `for` or `if`:
 * when the included template uses the cache tag, the fragment is lost — on a miss, and on every hit
 * from a store outside the process (Redis, SQLite, PostgreSQL), while the memory store's
 * synchronous hits hide it in development. The tag runs inside the included template and cannot
 * tell; the template that holds the loop can. Every template an Environment compiles passes
 * through the extension's `preprocess`, which reads its block statements with Nunjucks' own lexer
 * (so text inside strings, comments and raw blocks is never mistaken for a tag) and, for an
 * `include` of a literal name inside a plain `for`/`if`, resolves that name the way Nunjucks
 * does (`env.resolveTemplate`, so `"./row.njk"` is the row next to the including template) and
 * reads the template (and what it includes by literal name, a few levels deep) for the cache tag.
 * A template a loader serves precompiled is read from its compiled code.
 */
import nunjucks from 'nunjucks';

/** A loader as the check uses it: whatever `getSource` returns (text, or precompiled code). */
export interface PreflightLoader {
  getSource?: (name: string) => { src: unknown; path?: string } | null;
  async?: boolean;
  isRelative?: (filename: string) => boolean;
  resolve?: (from: string, to: string) => string;
}

export interface PreflightEnvironment {
  opts?: {
    tags?: { blockStart?: string; blockEnd?: string; variableStart?: string; variableEnd?: string; commentStart?: string; commentEnd?: string };
    trimBlocks?: boolean;
    lstripBlocks?: boolean;
  };
  loaders?: PreflightLoader[];
  /** Nunjucks' own resolution of a name included from `parentName` (relative names). */
  resolveTemplate?: (loader: PreflightLoader, parentName: string | undefined, filename: string) => string;
}

interface Token {
  type: string;
  value: string;
  lineno: number;
  colno: number;
}

const { TemplateError } = (nunjucks as unknown as { lib: { TemplateError: new (message: string, lineno: number, colno: number) => Error } }).lib;
const lexer = (nunjucks as unknown as { lexer: { lex(src: string, opts: object): { nextToken(): Token | null } } }).lexer;
const MAX_DEPTH = 3;

/**
 * Throws a template error (with line) when `src` includes a cache-using template inside a plain
 * for/if. `path` is the compiling template's path, for resolving relative include names;
 * `extensionName` finds the tag in precompiled templates.
 */
export function checkIncludesInLoops(src: string, env: PreflightEnvironment, tagName: string, path: string | undefined, extensionName: string): void {
  const open: string[] = [];
  for (const statement of statements(src, env)) {
    const { keyword, args, token } = statement;
    if (keyword.startsWith('end')) {
      open.pop();
      continue;
    }
    if (['for', 'if', 'ifAsync', 'asyncEach', 'asyncAll'].includes(keyword)) {
      open.push(keyword);
      continue;
    }
    if (keyword !== 'include') continue;
    const plain = open.filter((block) => block === 'for' || block === 'if');
    const first = args[0];
    if (plain.length === 0 || first === undefined || first.type !== 'string') continue;
    const name = first.value;
    if (!usesCacheTag(name, path, env, tagName, extensionName, new Set(), 0)) continue;
    const block = plain.at(-1) === 'for' ? 'for' : 'if';
    const { blockStart, blockEnd } = delimiters(env);
    const fix = block === 'for' ? `${blockStart} asyncEach item in items ${blockEnd}…${blockStart} endeach ${blockEnd}` : `${blockStart} ifAsync condition ${blockEnd}…${blockStart} endif ${blockEnd}`;
    throw new TemplateError(
      `${tagName} tag: "${name}" uses the ${tagName} tag and is included inside a plain ${blockStart} ${block} ${blockEnd}, where Nunjucks does not wait for it: the fragment would be missing from the page (on every hit from Redis, SQLite or PostgreSQL too). Write ${fix} around that include instead.`,
      token.lineno + 1,
      token.colno + 1,
    );
  }
}

/** The block statements of a template, in order: keyword, argument tokens, and where it starts. */
function* statements(src: string, env: PreflightEnvironment): Generator<{ keyword: string; args: Token[]; token: Token }> {
  const tokens = lexer.lex(src, { tags: env.opts?.tags ?? {}, trimBlocks: env.opts?.trimBlocks, lstripBlocks: env.opts?.lstripBlocks });
  let raw: string | undefined;
  for (;;) {
    let token: Token | null;
    try {
      token = tokens.nextToken();
    } catch {
      return; // not valid template text: Nunjucks' own parser reports it
    }
    if (token === null) return;
    if (token.type !== 'block-start') continue;
    const words: Token[] = [];
    for (;;) {
      let next: Token | null;
      try {
        next = tokens.nextToken();
      } catch {
        return;
      }
      if (next === null) return;
      if (next.type === 'block-end') break;
      if (next.type !== 'whitespace') words.push(next);
    }
    const [head, ...args] = words;
    if (head === undefined || head.type !== 'symbol') continue;
    // Inside raw/verbatim, statements are text.
    if (raw !== undefined) {
      if (head.value === `end${raw}`) raw = undefined;
      continue;
    }
    if (head.value === 'raw' || head.value === 'verbatim') {
      raw = head.value;
      continue;
    }
    yield { keyword: head.value, args, token };
  }
}

function usesCacheTag(name: string, parent: string | undefined, env: PreflightEnvironment, tagName: string, extensionName: string, seen: Set<string>, depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  const found = read(name, parent, env);
  if (found === undefined) return false;
  const id = found.path ?? found.name;
  if (seen.has(id)) return false;
  seen.add(id);
  if (typeof found.src !== 'string') return precompiledUses(found.src, extensionName);
  for (const { keyword, args } of statements(found.src, env)) {
    if (keyword === tagName) return true;
    const first = args[0];
    if (keyword === 'include' && first !== undefined && first.type === 'string' && usesCacheTag(first.value, found.path ?? found.name, env, tagName, extensionName, seen, depth + 1)) return true;
  }
  return false;
}

/** The template an include of `name` from `parent` loads, as Nunjucks finds it (first loader that has it). */
function read(name: string, parent: string | undefined, env: PreflightEnvironment): { name: string; src: unknown; path: string | undefined } | undefined {
  for (const loader of env.loaders ?? []) {
    if (loader.async || typeof loader.getSource !== 'function') continue;
    try {
      const resolved = env.resolveTemplate ? env.resolveTemplate(loader, parent, name) : name;
      const source = loader.getSource(resolved);
      if (source) return { name: resolved, src: source.src, path: source.path };
    } catch {
      // not this loader's, or missing: Nunjucks reports a missing include itself
    }
  }
  return undefined;
}

/**
 * Whether precompiled code (a `PrecompiledLoader` serves `{ type: 'code', obj }`) calls our
 * extension: the compiled functions name it.
 */
function precompiledUses(src: unknown, extensionName: string): boolean {
  const obj = (src as { obj?: Record<string, unknown> } | null)?.obj;
  if (obj === undefined || obj === null) return false;
  const needle = JSON.stringify(extensionName);
  return Object.values(obj).some((part) => typeof part === 'function' && Function.prototype.toString.call(part).includes(needle));
}

function delimiters(env: PreflightEnvironment): { blockStart: string; blockEnd: string } {
  const tags = env.opts?.tags ?? {};
  return { blockStart: tags.blockStart ?? '{%', blockEnd: tags.blockEnd ?? '%}' };
}
