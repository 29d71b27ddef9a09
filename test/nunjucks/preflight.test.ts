/**
 * The compile-time check for an include inside a plain for/if (preflight.ts) coexists with every
 * ordinary template: it reads templates with Nunjucks' lexer, resolves names as Nunjucks does, and
 * understands precompiled templates.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import nunjucks from 'nunjucks';
import { afterAll, describe, expect, it } from 'vitest';
import { createCache } from '../../src/index.js';
import { installCache, render } from '../../src/nunjucks.js';

const cache = createCache();
const dirs: string[] = [];
afterAll(async () => {
  await cache.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A template folder on disk, for FileSystemLoader (relative names resolve against real paths). */
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'njkc-preflight-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

class TemplateMap extends nunjucks.Loader {
  constructor(readonly templates: Record<string, string>) {
    super();
  }
  getSource(name: string): nunjucks.LoaderSource | null {
    const src = this.templates[name];
    return src === undefined ? null : { src, path: name, noCache: false };
  }
}
const MapLoader = TemplateMap as unknown as new (templates: Record<string, string>) => nunjucks.ILoader;

/** Precompile `templates` with an Environment that has the tag, as `nunjucks-precompile` would, and load them back. */
function precompiled(templates: Record<string, string>): nunjucks.PrecompiledLoader {
  const compiler = installCache(new nunjucks.Environment(null), cache);
  const window: { nunjucksPrecompiled?: Record<string, unknown> } = {};
  for (const [name, src] of Object.entries(templates)) {
    const code = nunjucks.precompileString(src, { name, env: compiler });
    new Function('window', code)(window);
  }
  return new nunjucks.PrecompiledLoader(window.nunjucksPrecompiled as never);
}

const LOOP = '{% for item in items %}{% include "row.njk" %}{% endfor %}';

describe('an include in a plain for, checked at compile time', () => {
  it('reads a PrecompiledLoader template (compiled code, not text) instead of throwing a TypeError', async () => {
    const env = installCache(new nunjucks.Environment([new MapLoader({ 'list.njk': LOOP, 'plain-list.njk': LOOP.replace('row', 'plain') }), precompiled({ 'row.njk': '{% cache 60 row item %}[{{ item }}]{% endcache %}', 'plain.njk': '({{ item }})' })]), cache);
    await expect(render(env, 'list.njk', { items: [1, 2] })).rejects.toThrow(/"row\.njk" uses the cache tag and is included inside a plain \{% for %\}/);
    expect(await render(env, 'plain-list.njk', { items: [1, 2] })).toBe('(1)(2)');
  });

  it('resolves "./row.njk" next to the including template, as Nunjucks does', async () => {
    // blog/row.njk is plain; a different root-level row.njk uses the tag: the loop is fine.
    const fine = folder({ 'blog/list.njk': '{% for item in items %}{% include "./row.njk" %}{% endfor %}', 'blog/row.njk': '<{{ item }}>', 'row.njk': '{% cache 60 row item %}x{% endcache %}' });
    const env = installCache(new nunjucks.Environment(new nunjucks.FileSystemLoader(fine)), cache);
    expect(await render(env, 'blog/list.njk', { items: [1, 2] })).toBe('<1><2>');
    // The mirror case: the relative target uses the tag, the root-level one does not.
    const caught = folder({ 'blog/list.njk': 'a\n{% for item in items %}{% include "./row.njk" %}{% endfor %}', 'blog/row.njk': '{% cache 60 row item %}x{% endcache %}', 'row.njk': 'plain' });
    const env2 = installCache(new nunjucks.Environment(new nunjucks.FileSystemLoader(caught)), cache);
    await expect(render(env2, 'blog/list.njk', { items: [1, 2] })).rejects.toThrow(/\[Line 2, Column 24\][\s\S]*"\.\/row\.njk" uses the cache tag/);
  });

  it('tokenizes: "{% cache" inside a string literal, a comment or a raw block is not the tag', async () => {
    const env = installCache(
      new nunjucks.Environment(
        new MapLoader({
          'list.njk': '{% for item in items %}{% include "card.njk" %}{% endfor %}',
          'card.njk': '{{ "{% cache 60 x %}" }}{# {% cache 60 y %} #}{% raw %}{% cache 60 z %}{% endraw %}|',
        }),
      ),
      cache,
    );
    expect(await render(env, 'list.njk', { items: [1, 2] })).toBe('{% cache 60 x %}{% cache 60 z %}|{% cache 60 x %}{% cache 60 z %}|');
  });
});
