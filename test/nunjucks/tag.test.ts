import { EventEmitter } from 'node:events';
import type nunjucks from 'nunjucks';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, fragmentKey, type Cache } from '../../src/index.js';
import { createEnvironment, installCache, render, renderString } from '../../src/nunjucks.js';
import { ManualClock } from '../../src/testing.js';
import { MapLoader } from '../support/stores.js';

const caches: Cache[] = [];
function newCache(clock?: ManualClock): Cache {
  const cache = createCache(clock ? { clock } : {});
  caches.push(cache);
  return cache;
}
afterEach(async () => {
  for (const cache of caches.splice(0)) await cache.close();
});

function envWith(templates: Record<string, string>, cache: Cache) {
  return createEnvironment(new MapLoader(templates) as unknown as nunjucks.ILoader, { cache });
}

function counter() {
  const calls = { n: 0 };
  const load = async () => {
    calls.n += 1;
    return [{ id: 1, title: 'First & best' }, { id: 2, title: '<Second>' }];
  };
  return { calls, load };
}

describe('the cache tag', () => {
  describe('with a lazy loader inside the fragment', () => {
    it('calls the loader on the first render, not the second, again after invalidateFragment, and again after the TTL', async () => {
      const clock = new ManualClock();
      const cache = newCache(clock);
      const env = envWith({ 'page.njk': '<% cache 60 posts %><% for p in load | resolve %>[{{ p.title }}]<% endfor %><% endcache %>' }, cache);
      const { calls, load } = counter();
      const expected = '[First &amp; best][&lt;Second&gt;]';

      expect(await render(env, 'page.njk', { load })).toBe(expected);
      expect(calls.n).toBe(1);
      expect(await render(env, 'page.njk', { load })).toBe(expected);
      expect(calls.n).toBe(1);

      expect(await cache.invalidateFragment('posts')).toBe(true);
      expect(await render(env, 'page.njk', { load })).toBe(expected);
      expect(calls.n).toBe(2);

      clock.advance(61);
      expect(await render(env, 'page.njk', { load })).toBe(expected);
      expect(calls.n).toBe(3);
    });
  });

  describe('names and vary-on values', () => {
    it('takes the name literally, not as a variable, as Django does', async () => {
      const cache = newCache();
      const env = envWith({ a: '<% cache 60 sidebar %>S<% endcache %>', b: '<% cache 60 "side bar" %>Q<% endcache %>' }, cache);
      await render(env, 'a', { sidebar: 'not the name' });
      await render(env, 'b');
      expect(await cache.get(fragmentKey('sidebar'))).toBe('S');
      expect(await cache.get(fragmentKey('side bar'))).toBe('Q');
    });

    it('takes a hyphenated or dotted name whole, as Django splits on spaces', async () => {
      const cache = newCache();
      const env = envWith({ t: '<% cache 60 post-body id %>A<% endcache %><% cache 60 post.v2 %>B<% endcache %><% cache 60 side - 1 %>C<% endcache %>' }, cache);
      expect(await render(env, 't', { id: 7 })).toBe('ABC');
      expect(await cache.get(fragmentKey('post-body', [7]))).toBe('A');
      expect(await cache.get(fragmentKey('post.v2'))).toBe('B');
      // with spaces, "- 1" is a vary-on expression, not part of the name
      expect(await cache.get(fragmentKey('side', [-1]))).toBe('C');
    });

    it('keeps one entry per vary-on value, and never confuses 1 with "1"', async () => {
      const cache = newCache();
      const env = envWith({ card: '<% cache 60 card id %>{{ label }}<% endcache %>' }, cache);
      expect(await render(env, 'card', { id: 1, label: 'number one' })).toBe('number one');
      expect(await render(env, 'card', { id: '1', label: 'string one' })).toBe('string one');
      expect(await render(env, 'card', { id: 1, label: 'changed' })).toBe('number one');
      expect(await cache.get(fragmentKey('card', [1]))).toBe('number one');
      expect(await cache.get(fragmentKey('card', ['1']))).toBe('string one');
    });

    it('accepts several vary-on expressions, including attribute lookups and filters', async () => {
      const cache = newCache();
      const env = envWith({ t: '<% cache 60 post post.id post.updatedAt | string lang %>{{ post.title }}<% endcache %>' }, cache);
      const post = { id: 7, updatedAt: 100, title: 'v1' };
      expect(await render(env, 't', { post, lang: 'en' })).toBe('v1');
      expect(await render(env, 't', { post: { ...post, title: 'v2' }, lang: 'en' })).toBe('v1');
      expect(await render(env, 't', { post: { ...post, updatedAt: 101, title: 'v2' }, lang: 'en' })).toBe('v2');
      expect(await cache.get(fragmentKey('post', [7, '101', 'en']))).toBe('v2');
    });
  });

  describe('TTL', () => {
    it('keeps a fragment with TTL none forever', async () => {
      const clock = new ManualClock();
      const cache = newCache(clock);
      const env = envWith({ t: '<% cache none forever %>{{ n }}<% endcache %>' }, cache);
      await render(env, 't', { n: 1 });
      clock.advance(100 * 24 * 3600);
      expect(await render(env, 't', { n: 2 })).toBe('1');
    });

    it('does not store with TTL 0: the body renders every time', async () => {
      const cache = newCache();
      const env = envWith({ t: '<% cache 0 never %>{{ n }}<% endcache %>' }, cache);
      expect(await render(env, 't', { n: 1 })).toBe('1');
      expect(await render(env, 't', { n: 2 })).toBe('2');
    });

    it('accepts a TTL from a variable or expression', async () => {
      const clock = new ManualClock();
      const cache = newCache(clock);
      const env = envWith({ t: '<% cache minutes * 60 x %>{{ n }}<% endcache %>' }, cache);
      await render(env, 't', { minutes: 2, n: 1 });
      clock.advance(119);
      expect(await render(env, 't', { minutes: 2, n: 2 })).toBe('1');
      clock.advance(2);
      expect(await render(env, 't', { minutes: 2, n: 3 })).toBe('3');
    });
  });

  describe('output', () => {
    it('is escaped exactly once, on the miss and on the hit', async () => {
      const cache = newCache();
      const env = envWith({ t: '<% cache 60 x %><p>{{ v }}</p><% endcache %>' }, cache);
      const first = await render(env, 't', { v: '<script>&' });
      const second = await render(env, 't', { v: '<script>&' });
      expect(first).toBe('<p>&lt;script&gt;&amp;</p>');
      expect(second).toBe(first);
    });

    it('is never truncated by an async filter inside the body', async () => {
      const cache = newCache();
      const env = envWith({ t: 'A<% cache 60 x %>B{{ slow | resolve }}C<% for i in [1,2] %>{{ i }}<% endfor %>D<% endcache %>E' }, cache);
      const slow = () => new Promise((resolve) => setTimeout(() => resolve('-slow-'), 10));
      expect(await render(env, 't', { slow })).toBe('AB-slow-C12DE');
      expect(await render(env, 't', { slow })).toBe('AB-slow-C12DE');
    });

    it('treats an empty fragment as a hit', async () => {
      const cache = newCache();
      const env = envWith({ t: '[<% cache 60 empty %><% if (load | resolve) %>x<% endif %><% endcache %>]' }, cache);
      let calls = 0;
      const load = async () => {
        calls += 1;
        return false;
      };
      expect(await render(env, 't', { load })).toBe('[]');
      expect(await render(env, 't', { load })).toBe('[]');
      expect(calls).toBe(1);
      expect(await cache.has(fragmentKey('empty'))).toBe(true);
    });
  });

  describe('placement', () => {
    it('works nested: a warm outer fragment does not render the inner one at all', async () => {
      const cache = newCache();
      const env = envWith({ t: '<% cache 60 outer %>(<% cache 60 inner %>{{ load | resolve }}<% endcache %>)<% endcache %>' }, cache);
      let calls = 0;
      const load = async () => `v${++calls}`;
      expect(await render(env, 't', { load })).toBe('(v1)');
      expect(await render(env, 't', { load })).toBe('(v1)');
      expect(calls).toBe(1);
      await cache.invalidateFragment('outer');
      // The inner fragment is still warm: only the outer body renders again.
      expect(await render(env, 't', { load })).toBe('(v1)');
      expect(calls).toBe(1);
      // Invalidating the inner one reaches the outer one (it carries the inner's implicit tag).
      await cache.invalidateFragment('inner');
      expect(await render(env, 't', { load })).toBe('(v2)');
    });

    it('works inside for loops, one entry per vary-on value', async () => {
      const cache = newCache();
      const env = envWith({ t: '<% for p in posts %><% cache 60 card p.id %>{{ p.title }}{{ count(p.id) }};<% endcache %><% endfor %>' }, cache);
      const rendered: number[] = [];
      const count = (id: number) => {
        rendered.push(id);
        return '';
      };
      const posts = [{ id: 1, title: 'a' }, { id: 2, title: 'b' }, { id: 3, title: 'c' }];
      expect(await render(env, 't', { posts, count })).toBe('a;b;c;');
      expect(await render(env, 't', { posts: [...posts, { id: 4, title: 'd' }], count })).toBe('a;b;c;d;');
      expect(rendered).toEqual([1, 2, 3, 4]);
    });

    it('works inside a block of an extended template', async () => {
      const cache = newCache();
      const env = envWith({
        'base.njk': '<html><% block content %>default<% endblock %></html>',
        'child.njk': '<% extends "base.njk" %><% block content %><% cache 60 body %>{{ load | resolve }}<% endcache %><% endblock %>',
      }, cache);
      let calls = 0;
      const load = async () => `body${++calls}`;
      expect(await render(env, 'child.njk', { load })).toBe('<html>body1</html>');
      expect(await render(env, 'child.njk', { load })).toBe('<html>body1</html>');
      expect(calls).toBe(1);
    });

    it('works inside an included template', async () => {
      const cache = newCache();
      const env = envWith({
        'page.njk': 'top|<% include "part.njk" %>|bottom',
        'part.njk': '<% cache 60 part %>{{ load | resolve }}<% endcache %>',
      }, cache);
      let calls = 0;
      const load = async () => `part${++calls}`;
      expect(await render(env, 'page.njk', { load })).toBe('top|part1|bottom');
      expect(await render(env, 'page.njk', { load })).toBe('top|part1|bottom');
      expect(calls).toBe(1);
    });

    it('renders thousands of warm fragments in one loop without exhausting the stack', async () => {
      const cache = newCache();
      const env = envWith({ t: '<% for i in items %><% cache 60 row i %>{{ i }},<% endcache %><% endfor %>' }, cache);
      const items = Array.from({ length: 5000 }, (_, i) => i);
      const cold = await render(env, 't', { items });
      const warm = await render(env, 't', { items });
      expect(warm).toBe(cold);
      expect(warm.split(',').length).toBe(5001);
      expect(cache.stats().hits).toBe(5000);
    });
  });

  describe('an include inside a plain for loop (a Nunjucks limit)', () => {
    it('is a compile error when the included template uses the tag, with the asyncEach fix', async () => {
      const cache = newCache();
      const env = envWith({ list: 'one line\n<ul><% for item in items %><% include "row" %><% endfor %></ul>', row: '<% cache 60 row item.id %><li>{{ item.name }}</li><% endcache %>' }, cache);
      await expect(render(env, 'list', { items: [{ id: 1, name: 'one' }] })).rejects.toThrow(/\(list\) \[Line 2, Column 28\][\s\S]*"row" uses the cache tag and is included inside a plain <% for %>[\s\S]*<% asyncEach item in items %>/);
    });

    it('also through a template the include includes, and inside a plain if', async () => {
      const cache = newCache();
      const env = envWith({ page: '<% if show %><% include "outer" %><% endif %>', outer: '<% include "row" %>', row: '<% cache 60 row %>x<% endcache %>' }, cache);
      await expect(render(env, 'page', { show: true })).rejects.toThrow(/"outer" uses the cache tag and is included inside a plain <% if %>[\s\S]*<% ifAsync condition %>/);
    });

    it('accepts asyncEach, ifAsync, and includes of templates without the tag', async () => {
      const cache = newCache();
      const env = envWith({
        ok: '<% asyncEach item in items %><% include "row" %><% endeach %>|<% for item in items %><% include "plain" %><% endfor %>|<% ifAsync items %><% include "row" %><% endif %>',
        row: '<% cache 60 row item.id %>[{{ item.id }}]<% endcache %>',
        plain: '({{ item.id }})',
      }, cache);
      expect(await render(env, 'ok', { items: [{ id: 1 }, { id: 2 }], item: { id: 9 } })).toBe('[1][2]|(1)(2)|[9]');
    });

    it('with a name chosen at run time, never stores one item\'s HTML under another item\'s key, and warns', async () => {
      const cache = newCache();
      const env = envWith({ list: '<ul><% for item in items %><% include rowTemplate %><% endfor %></ul>', row: '<% cache 60 row item.id %><li>{{ item.name }}</li><% endcache %>' }, cache);
      const warnings: string[] = [];
      const onWarning = (warning: Error & { code?: string }) => warning.code === 'NJKC_INCLUDE_IN_FOR' && warnings.push(warning.message);
      process.on('warning', onWarning);
      try {
        await render(env, 'list', { rowTemplate: 'row', items: [{ id: 1, name: 'one' }, { id: 2, name: 'two' }, { id: 3, name: 'three' }] });
        await new Promise((resolve) => setTimeout(resolve, 20));
      } finally {
        process.off('warning', onWarning);
      }
      for (const [id, name] of [[1, 'one'], [2, 'two'], [3, 'three']] as const) {
        const stored = await cache.get(fragmentKey('row', [id]));
        expect(stored === undefined || stored === `<li>${name}</li>`).toBe(true);
      }
      expect(warnings.join('\n')).toMatch(/cache tag "row": this fragment is inside an include in a plain for loop[\s\S]*asyncEach/);
    });
  });

  describe('template edits', () => {
    it('follows an included template edited under a watching loader', async () => {
      const cache = newCache();
      // As FileSystemLoader({ watch: true }): templates are cached, and 'update' says one changed.
      class WatchingLoader extends EventEmitter {
        cache: Record<string, unknown> = {};
        constructor(readonly templates: Record<string, string>) {
          super();
        }
        getSource(name: string) {
          return { src: this.templates[name] as string, path: name, noCache: false };
        }
      }
      const loader = new WatchingLoader({ page: '<% cache 60 x %><% include "part" %><% endcache %>', part: 'v1' });
      const env = createEnvironment(loader as unknown as nunjucks.ILoader, { cache });
      expect(await render(env, 'page')).toBe('v1');
      loader.templates.part = 'v2';
      loader.cache = {};
      loader.emit('update', 'part');
      expect(await render(env, 'page')).toBe('v2');
    });

    it('makes the old entry miss when the text inside the block changes, under the same key', async () => {
      const cache = newCache();
      const templates = { t: '<% cache 60 x %>old {{ n }}<% endcache %>' };
      const env = envWith(templates, cache);
      expect(await render(env, 't', { n: 1 })).toBe('old 1');
      expect(await render(env, 't', { n: 2 })).toBe('old 1');
      templates.t = '<% cache 60 x %>new {{ n }}<% endcache %>';
      expect(await render(env, 't', { n: 3 })).toBe('new 3');
      // the key is unchanged, so invalidation from code still reaches it
      expect(await cache.invalidateFragment('x')).toBe(true);
    });

    it('makes the old entry miss when a template it includes by name changes', async () => {
      const cache = newCache();
      const templates = { t: '<% cache 60 x %><% include "inc" %><% endcache %>', inc: 'v1 {{ n }}' };
      const env = envWith(templates, cache);
      expect(await render(env, 't', { n: 1 })).toBe('v1 1');
      expect(await render(env, 't', { n: 2 })).toBe('v1 1');
      templates.inc = 'v2 {{ n }}';
      expect(await render(env, 't', { n: 3 })).toBe('v2 3');
    });
  });
});
