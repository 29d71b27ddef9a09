/**
 * The figure of the core issue: renders per second of a page with 10 warm fragments (memory
 * store) against the same page with the fragments' output inlined as static text. Measures the
 * package compiled by tsc, as it ships (bench/lib/library.ts).
 *
 *   npx tsx bench/diagnostics/ten-fragments.ts
 */
import nunjucks from 'nunjucks';
import { Bench } from 'tinybench';
import { createCache, createEnvironment, render } from '../lib/library.js';

class Loader {
  constructor(readonly templates: Record<string, string>) {}
  getSource(name: string) {
    return { src: this.templates[name] as string, path: name, noCache: false };
  }
}

const items = Array.from({ length: 10 }, (_, n) => ({ title: `Item <${n}>`, n }));
let page = '<html><body><p>Hello {{ user }}</p>';
for (let i = 0; i < 10; i += 1) {
  page += `<% cache 600 f${i} %><section><h2>Block ${i}</h2><ul><% for x in items %><li>{{ x.title }} &amp; {{ x.n }}</li><% endfor %></ul></section><% endcache %>`;
}
page += '</body></html>';

const cache = createCache();
const env = createEnvironment(new Loader({ page }) as unknown as nunjucks.ILoader, { cache });
const warm = await render(env, 'page', { user: 'bob', items });
// The limit: the same output, the fragments' HTML inlined as static text, the greeting still rendered.
const inner = warm.replace('<html><body><p>Hello bob</p>', '').replace('</body></html>', '');
const staticEnv = new nunjucks.Environment(new Loader({ page: `<html><body><p>Hello {{ user }}</p>{% raw %}${inner}{% endraw %}</body></html>` }) as unknown as nunjucks.ILoader, { autoescape: true });
const renderStatic = () => new Promise<string>((resolve, reject) => staticEnv.render('page', { user: 'bob' }, (error, html) => (error ? reject(error) : resolve(html ?? ''))));
if ((await renderStatic()) !== warm) throw new Error('the static page differs from the warm page');

const bench = new Bench({ time: 3_000, warmupTime: 500 });
bench.add('static (fragments inlined as text)', async () => {
  await renderStatic();
});
bench.add('10 warm fragments (memory store)', async () => {
  await render(env, 'page', { user: 'bob', items });
});
await bench.run();
const rates = bench.tasks.map((task) => {
  const result = task.result as { throughput?: { mean: number }; hz?: number } | undefined;
  return result?.throughput?.mean ?? result?.hz ?? Number.NaN;
});
bench.tasks.forEach((task, i) => console.log(`${task.name}: ${Math.round(rates[i] as number).toLocaleString('en')} renders/s`));
console.log(`ratio: static ÷ warm = ${((rates[0] as number) / (rates[1] as number)).toFixed(2)}x`);
await cache.close();
