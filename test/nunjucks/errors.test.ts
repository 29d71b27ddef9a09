import nunjucks from 'nunjucks';
import { afterAll, describe, expect, it } from 'vitest';
import { createCache } from '../../src/index.js';
import { createEnvironment, installCache, render } from '../../src/nunjucks.js';
import { MapLoader } from '../support/stores.js';

const cache = createCache();
afterAll(() => cache.close());

const envFor = (src: string) => createEnvironment(new MapLoader({ 'page.njk': src }) as unknown as nunjucks.ILoader, { cache });
const renderPage = (src: string, context: object = {}) => render(envFor(src), 'page.njk', context);

describe('cache tag errors', () => {
  describe('at compile time, naming the template and line', () => {
    it.each([
      ['no TTL and no name', 'line\n<% cache %>x<% endcache %>', /\(page\.njk\) \[Line 2, Column \d+\][\s\S]*cache tag: missing TTL and fragment name/],
      ['no name', '<% cache 60 %>x<% endcache %>', /page\.njk[\s\S]*missing fragment name after the TTL/],
      ['a name without its TTL', '<% cache sidebar %>x<% endcache %>', /page\.njk[\s\S]*missing TTL before the fragment name "sidebar"; write it as <% cache 600 sidebar %>…<% endcache %>/],
      ['a name that is not a word or string', '<% cache 60 42 %>x<% endcache %>', /page\.njk[\s\S]*fragment name must be a bare word or a quoted string/],
      ['no endcache', '<% cache 60 x %>never closed', /page\.njk[\s\S]*(endcache|unexpected end of file)/],
      ['an unknown option', '<% cache 60 x ttl=5 %>x<% endcache %>', /page\.njk[\s\S]*unknown option "ttl=" \(known options: tags=, stale=\)/],
      ['a repeated option', '<% cache 60 x tags="a" tags="b" %>x<% endcache %>', /option "tags=" is given twice/],
      ['vary-on after options', '<% cache 60 x tags="a" post.id %>x<% endcache %>', /vary-on values must come before options/],
      ['a macro around the tag', '<% macro m() %><% cache 60 x %>x<% endcache %><% endmacro %>', /page\.njk[\s\S]*cannot be used inside a <% macro %> block[\s\S]*around the macro call/],
      ['a set block around the tag', '<% set v %><% cache 60 x %>x<% endcache %><% endset %>', /cannot be used inside a <% set %> block/],
      ['a call block around the tag', '<% macro m() %>{{ caller() }}<% endmacro %><% call m() %><% cache 60 x %>x<% endcache %><% endcall %>', /cannot be used inside a <% call %> block/],
      ['a filter block around the tag', '<% filter upper %><% cache 60 x %>x<% endcache %><% endfilter %>', /cannot be used inside a <% filter %> block/],
      ['a block inside the fragment', '<% cache 60 x %><% block b %>x<% endblock %><% endcache %>', /a <% block %> cannot be inside a cached fragment/],
      ['a filter block inside the fragment', '<% cache 60 x %><% filter upper %>x<% endfilter %><% endcache %>', /a <% filter %> block cannot be inside a cached fragment/],
    ])('rejects %s', async (_label, src, message) => {
      await expect(renderPage(src)).rejects.toThrow(message);
    });

    it('accepts a tag after a closed macro and after a one-line set', async () => {
      const src = '<% macro m() %>m<% endmacro %><% set a = 1 %><% cache 60 fine %>{{ m() }}{{ a }}<% endcache %>';
      expect(await renderPage(src)).toBe('m1');
    });

    it('ignores block-like text inside comments and raw blocks', async () => {
      expect(await renderPage('{# <% macro m() %> #}<% cache 60 fine2 %>ok<% endcache %>')).toBe('ok');
      const env = installCache(new nunjucks.Environment(new MapLoader({ 'raw.njk': '{% raw %}{% macro n() %}{% endraw %}{% cache 60 fine3 %}ok{% endcache %}' }) as unknown as nunjucks.ILoader), cache);
      expect(await render(env, 'raw.njk')).toBe('{% macro n() %}ok');
    });
  });

  describe('at render time', () => {
    it('names the template, line and bad value of a TTL that is not a number or none', async () => {
      await expect(renderPage('\n\n<% cache ttl x %>x<% endcache %>', { ttl: 'soon' })).rejects.toThrow(
        /\(page\.njk\) \[Line 3, Column \d+\][\s\S]*cache tag "x": the TTL must be a number of seconds or none, got "soon"/,
      );
    });

    it('accepts a numeric string TTL, as Django does', async () => {
      expect(await renderPage('<% cache ttl numstr %>ok<% endcache %>', { ttl: '60' })).toBe('ok');
    });

    it('rejects tags= that are not strings', async () => {
      await expect(renderPage('<% cache 60 x tags=obj %>x<% endcache %>', { obj: { a: 1 } })).rejects.toThrow(/tags= must be a string or a list of strings/);
    });

    it('rejects a negative stale=', async () => {
      await expect(renderPage('<% cache 60 x stale=-1 %>x<% endcache %>')).rejects.toThrow(/stale= must be a number of seconds/);
    });

    it('delivers a template error after the tag to the render, not as an unhandled rejection', async () => {
      await expect(renderPage('<% cache 60 after %>ok<% endcache %>{{ missing() }}')).rejects.toThrow(/Unable to call `missing`/);
      // again on the warm path, where the tag answers synchronously
      await expect(renderPage('<% cache 60 after %>ok<% endcache %>{{ missing() }}')).rejects.toThrow(/Unable to call `missing`/);
    });

    it('delivers an error from inside the body, and does not cache it', async () => {
      let fail = true;
      const load = async () => {
        if (fail) throw new Error('database down');
        return 'data';
      };
      await expect(renderPage('<% cache 60 body_err %>{{ load | resolve }}<% endcache %>', { load })).rejects.toThrow(/database down/);
      fail = false;
      expect(await renderPage('<% cache 60 body_err %>{{ load | resolve }}<% endcache %>', { load })).toBe('data');
    });
  });
});

describe('vary-on values the tag refuses', () => {
  it('names the template, line and fragment when a vary-on value would make every user share one entry', async () => {
    class User {
      readonly #name: string;
      constructor(name: string) {
        this.#name = name;
      }
      get name(): string {
        return this.#name;
      }
    }
    await expect(renderPage('\n<% cache 60 profile user %>Hello {{ user.name }}<% endcache %>', { user: new User('ada') })).rejects.toThrow(
      /\(page\.njk\) \[Line 2, Column \d+\][\s\S]*cache tag "profile": Cannot vary a cache key on an instance of User with no visible fields/,
    );
  });
});

describe('silent template mistakes become errors or follow the TTL rules', () => {
  it('<% cache 0 name %> removes the existing entry and renders, as the low-level API does with TTL 0', async () => {
    const local = createCache();
    const env = createEnvironment(new MapLoader({ 'warm.njk': '<% cache 60 side %>{{ n }}<% endcache %>', 'zero.njk': '<% cache 0 side %>{{ n }}<% endcache %>' }) as unknown as nunjucks.ILoader, { cache: local, digest: false });
    expect(await render(env, 'warm.njk', { n: 1 })).toBe('1');
    expect(await render(env, 'warm.njk', { n: 2 })).toBe('1');
    expect(await render(env, 'zero.njk', { n: 3 })).toBe('3');
    expect(await local.invalidateFragment('side')).toBe(false); // removed by the TTL-0 render, and not stored
    expect(await render(env, 'zero.njk', { n: 4 })).toBe('4');
    expect(await render(env, 'warm.njk', { n: 5 })).toBe('5');
    await local.close();
  });

  it.each([
    ['an undefined tag', '\n<% cache 60 list tags=posts %>x<% endcache %>', /\(page\.njk\) \[Line 2, Column \d+\][\s\S]*cache tag "list": tags= is undefined/],
    ['an undefined vary-on value', 'a\nb\n<% cache 60 card post.id %>x<% endcache %>', /\(page\.njk\) \[Line 3, Column \d+\][\s\S]*cache tag "card": vary-on value 1 is undefined/],
    ['an undefined stale=', '<% cache 60 card stale=later %>x<% endcache %>', /cache tag "card": stale= is undefined/],
  ])('%s is an error naming the template and line', async (_label, src, message) => {
    await expect(renderPage(src, { post: {} })).rejects.toThrow(message);
  });

  it('quotes the delimiters the Environment uses: {% %} on a default setup', async () => {
    const env = installCache(new nunjucks.Environment(new MapLoader({ 'a.njk': '{% cache sidebar %}x{% endcache %}', 'b.njk': '{% macro m() %}{% cache 60 x %}x{% endcache %}{% endmacro %}' }) as unknown as nunjucks.ILoader), cache);
    await expect(render(env, 'a.njk')).rejects.toThrow(/missing TTL before the fragment name "sidebar"; write it as \{% cache 600 sidebar %\}…\{% endcache %\}/);
    await expect(render(env, 'b.njk')).rejects.toThrow(/inside a \{% macro %\} block[\s\S]*\{% cache 600 name %\}/);
  });
});
