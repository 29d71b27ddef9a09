/**
 * A compile-time check for the one Nunjucks limit the tag itself cannot see.
 *
 * Nunjucks does not wait for async work inside an `include` that sits in a plain `for` or `if`:
 * when the included template uses the cache tag, the fragment is lost — on a miss, and on every hit
 * from a store outside the process (Redis, SQLite, PostgreSQL), while the memory store's
 * synchronous hits hide it in development. The tag runs inside the included template and cannot
 * tell; the template that holds the loop can. Every template an Environment compiles passes
 * through the extension's `preprocess`, which reads its block statements in order (comments and
 * raw blocks removed) and, for an `include` of a literal name inside a plain `for`/`if`, reads
 * that template (and what it includes by literal name, a few levels deep) for the cache tag.
 */
import nunjucks from 'nunjucks';

export interface PreflightEnvironment {
  opts?: { tags?: { blockStart?: string; blockEnd?: string; commentStart?: string; commentEnd?: string } };
  loaders?: Array<{ getSource?: (name: string) => { src: string } | null; async?: boolean }>;
}

const { TemplateError } = (nunjucks as unknown as { lib: { TemplateError: new (message: string, lineno: number, colno: number) => Error } }).lib;
const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const MAX_DEPTH = 3;

/** Throws a template error (with line) when `src` includes a cache-using template inside a plain for/if. */
export function checkIncludesInLoops(src: string, env: PreflightEnvironment, tagName: string): void {
  const tags = delimiters(env);
  const text = stripInert(src, tags);
  const statement = new RegExp(`${esc(tags.blockStart)}-?\\s*(for|endfor|if|ifAsync|endif|asyncEach|endeach|asyncAll|endall|include)\\b([\\s\\S]*?)-?${esc(tags.blockEnd)}`, 'g');
  const open: string[] = [];
  for (const match of text.matchAll(statement)) {
    const [, keyword = '', rest = ''] = match;
    if (keyword.startsWith('end')) {
      open.pop();
      continue;
    }
    if (keyword !== 'include') {
      open.push(keyword);
      continue;
    }
    const plain = open.filter((block) => block === 'for' || block === 'if');
    const name = /^\s*(["'])(.+?)\1/.exec(rest)?.[2];
    if (plain.length === 0 || name === undefined || !usesCacheTag(name, env, tagName, new Set(), 0)) continue;
    const block = plain.at(-1) === 'for' ? 'for' : 'if';
    const fix = block === 'for' ? '{% asyncEach item in items %}…{% endeach %}' : '{% ifAsync condition %}…{% endif %}';
    const lineno = text.slice(0, match.index).split('\n').length;
    throw new TemplateError(
      `${tagName} tag: "${name}" uses the ${tagName} tag and is included inside a plain {% ${block} %}, where Nunjucks does not wait for it: the fragment would be missing from the page (on every hit from Redis, SQLite or PostgreSQL too). Write ${fix} around that include instead.`,
      lineno,
      1,
    );
  }
}

function usesCacheTag(name: string, env: PreflightEnvironment, tagName: string, seen: Set<string>, depth: number): boolean {
  if (depth > MAX_DEPTH || seen.has(name)) return false;
  seen.add(name);
  const source = read(name, env);
  if (source === undefined) return false;
  const tags = delimiters(env);
  const text = stripInert(source, tags);
  if (new RegExp(`${esc(tags.blockStart)}-?\\s*${esc(tagName)}\\b`).test(text)) return true;
  const include = new RegExp(`${esc(tags.blockStart)}-?\\s*include\\s+(["'])(.+?)\\1`, 'g');
  for (const match of text.matchAll(include)) {
    if (match[2] !== undefined && usesCacheTag(match[2], env, tagName, seen, depth + 1)) return true;
  }
  return false;
}

function read(name: string, env: PreflightEnvironment): string | undefined {
  for (const loader of env.loaders ?? []) {
    if (loader.async || typeof loader.getSource !== 'function') continue;
    try {
      const source = loader.getSource(name);
      if (source) return source.src;
    } catch {
      // not this loader's, or missing: Nunjucks reports a missing include itself
    }
  }
  return undefined;
}

function delimiters(env: PreflightEnvironment): { blockStart: string; blockEnd: string; commentStart: string; commentEnd: string } {
  const tags = env.opts?.tags ?? {};
  return { blockStart: tags.blockStart ?? '{%', blockEnd: tags.blockEnd ?? '%}', commentStart: tags.commentStart ?? '{#', commentEnd: tags.commentEnd ?? '#}' };
}

/** The source without comments and raw/verbatim blocks, line breaks kept so line numbers hold. */
function stripInert(src: string, tags: { blockStart: string; blockEnd: string; commentStart: string; commentEnd: string }): string {
  const blank = (part: string) => part.replace(/[^\n]/g, ' ');
  const bs = esc(tags.blockStart);
  const be = esc(tags.blockEnd);
  return src
    .replace(new RegExp(`${esc(tags.commentStart)}[\\s\\S]*?${esc(tags.commentEnd)}`, 'g'), blank)
    .replace(new RegExp(`${bs}-?\\s*(raw|verbatim)\\s*-?${be}[\\s\\S]*?${bs}-?\\s*end\\1\\s*-?${be}`, 'g'), blank);
}
