/**
 * Holes: a `nocache` block inside a cached fragment renders on every request, hit or miss, while
 * the rest of the fragment is served from the cache.
 */
import nunjucks from 'nunjucks';
import { describe, expect, it } from 'vitest';
import { createCache, fragmentKey } from '../../src/index.js';
import { installCache, render, renderString } from '../../src/nunjucks.js';

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

function setup(templates: Record<string, string> = {}, options: { holeTagName?: string } = {}) {
  const cache = createCache();
  const env = installCache(new nunjucks.Environment(new MapLoader(templates), { autoescape: true }), cache, options);
  return { cache, env };
}

describe('nocache', () => {
  it('shows each request its own user on a hit while the body of the fragment renders zero times', async () => {
    const { cache, env } = setup({
      'card.njk': '{% cache 600 card %}<article>{{ body() }}</article><p>{% nocache %}Hello {{ user.name }}{% endnocache %}</p>{% endcache %}',
    });
    let bodies = 0;
    const page = (name: string) => render(env, 'card.njk', { user: { name }, body: () => `post ${++bodies}` });
    expect(await page('Ann')).toBe('<article>post 1</article><p>Hello Ann</p>');
    expect(await page('Bob')).toBe('<article>post 1</article><p>Hello Bob</p>');
    expect(await page('<Cy>')).toBe('<article>post 1</article><p>Hello &lt;Cy&gt;</p>');
    expect(bodies).toBe(1); // rendered once, on the miss; the hits rendered only the hole
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 1, renders: 1 });
  });

  it('sees the render’s context and the values passed to it, not the fragment’s loop variables', async () => {
    const { env } = setup();
    const src =
      '{% cache 600 list %}{% for post in posts %}[{{ post.title }}: {% nocache post_id=post.id %}{{ user }} likes {{ post_id }}{{ post.title }}{% endnocache %}]{% endfor %}{% endcache %}';
    const posts = [
      { id: 1, title: 'A' },
      { id: 2, title: 'B' },
    ];
    expect(await renderString(env, src, { posts, user: 'ann' })).toBe('[A: ann likes 1][B: ann likes 2]');
    // On a hit the passed values come from the stored fragment: `posts` is not even needed.
    expect(await renderString(env, src, { user: 'bob' })).toBe('[A: bob likes 1][B: bob likes 2]');
  });

  it('cannot be forged by text cached in the fragment', async () => {
    const { env, cache } = setup();
    const src = '{% cache 600 c %}{{ comment }}|{{ comment | safe }}|{% nocache %}{{ user }}{% endnocache %}{% endcache %}';
    const forged = '<njkc-hole 00000000000000000000000000000000:0>';
    const first = await renderString(env, src, { comment: forged, user: 'ann' });
    const second = await renderString(env, src, { comment: 'other', user: 'bob' });
    expect(first).toBe(`&lt;njkc-hole 00000000000000000000000000000000:0&gt;|${forged}|ann`);
    expect(second).toBe(`&lt;njkc-hole 00000000000000000000000000000000:0&gt;|${forged}|bob`);
    // What is stored: the HTML with one placeholder under a random token, and the hole's source.
    const stored = (await cache.get(fragmentKey('c', []))) as { token: string; holes: unknown[]; html: string };
    expect(stored.token).toMatch(/^[0-9a-f]{32}$/);
    expect(stored.holes).toEqual([{ src: '{{ user }}', args: {} }]);
    expect(stored.html.split(`<njkc-hole ${stored.token}:`)).toHaveLength(2);
  });

  it('is a fragment of its own name when configured, and a fragment without holes is stored as plain HTML', async () => {
    const { env, cache } = setup({}, { holeTagName: 'personal' });
    expect(await renderString(env, '{% cache 60 a %}x{% personal %}{{ u }}{% endpersonal %}{% endcache %}', { u: 1 })).toBe('x1');
    await renderString(env, '{% cache 60 b %}plain{% endcache %}', {});
    expect(await cache.get(fragmentKey('b', []))).toBe('plain');
  });

  it('works in a partial included inside the fragment', async () => {
    const { env } = setup({
      'page.njk': '{% cache 60 p %}<nav>{% include "greeting.njk" %}</nav>{% endcache %}',
      'greeting.njk': '{% nocache %}Hi {{ user }}{% endnocache %}',
    });
    expect(await render(env, 'page.njk', { user: 'ann' })).toBe('<nav>Hi ann</nav>');
    expect(await render(env, 'page.njk', { user: 'bob' })).toBe('<nav>Hi bob</nav>');
  });

  describe('misuse is a template error naming the template and line', () => {
    it('outside any cache block', async () => {
      const { env } = setup({ 'bare.njk': 'a\n{% nocache %}x{% endnocache %}' });
      await expect(render(env, 'bare.njk', {})).rejects.toThrow(/bare\.njk[\s\S]*Line 2[\s\S]*nocache must be inside a cache block/);
    });
    it('nested nocache', async () => {
      const { env } = setup({ 'n.njk': '{% cache 60 a %}\n{% nocache %}{% nocache %}x{% endnocache %}{% endnocache %}{% endcache %}' });
      await expect(render(env, 'n.njk', {})).rejects.toThrow(/n\.njk[\s\S]*Line 2[\s\S]*cannot be inside another nocache block/);
    });
    it('inside a macro', async () => {
      const { env } = setup({ 'm.njk': '{% macro m() %}\n{% nocache %}x{% endnocache %}{% endmacro %}' });
      await expect(render(env, 'm.njk', {})).rejects.toThrow(/m\.njk[\s\S]*nocache tag: cannot be used inside a \{% macro %\} block/);
    });
    it('inside a cache block nested in another', async () => {
      const { env } = setup({ 'nn.njk': '{% cache 60 outer %}{% cache 60 inner %}\n{% nocache %}x{% endnocache %}{% endcache %}{% endcache %}' });
      await expect(render(env, 'nn.njk', {})).rejects.toThrow(/nn\.njk[\s\S]*Line 2[\s\S]*itself inside another cache block/);
      // The inner fragment cached with its hole, then reached inside another fragment's body: refused too.
      const { env: env2 } = setup({ 'inner.njk': '{% cache 60 inner %}{% nocache %}x{% endnocache %}{% endcache %}', 'outer.njk': '{% cache 60 outer %}{% include "inner.njk" %}{% endcache %}' });
      expect(await render(env2, 'inner.njk', {})).toBe('x');
      await expect(render(env2, 'outer.njk', {})).rejects.toThrow(/inside another cache block; the outer fragment would store/);
    });
    it('an argument that is not a JSON value, or a positional one', async () => {
      const { env } = setup({ 'f.njk': '{% cache 60 a %}{% nocache f=fn %}x{% endnocache %}{% endcache %}', 'p.njk': '{% cache 60 a %}{% nocache user %}x{% endnocache %}{% endcache %}' });
      await expect(render(env, 'f.njk', { fn: () => 1 })).rejects.toThrow(/argument f= is a function/);
      await expect(render(env, 'p.njk', {})).rejects.toThrow(/takes only name=value arguments/);
    });
  });
});
