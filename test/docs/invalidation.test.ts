/**
 * docs/invalidation.md: each way to make an entry miss, run as the page shows it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache, fragmentKey } from '../../src/index.js';
import { createEnvironment, render } from '../../src/nunjucks.js';
import { ManualClock } from '../../src/testing.js';
import { docOutput, enterSite } from './support/docs.js';
import { captureLog, runExample } from './support/run.js';

let site: ReturnType<typeof enterSite>;
beforeAll(() => {
  site = enterSite();
});
afterAll(() => site.leave());

describe('invalidation', () => {
  it('by key: delete, invalidateFragment and invalidateView', async () => {
    const cache = createCache();
    await cache.set('greeting', 'hello');
    await cache.getOrSet(fragmentKey('post_card', [42, '2026-01-03']), 'html');
    const output = await captureLog(async () => {
      // #region by-key
      console.log(await cache.delete('greeting')); // true: something was there
      console.log(await cache.invalidateFragment('post_card', [42, '2026-01-03'])); // true
      console.log(await cache.invalidateView('post.njk', 42)); // false: nothing cached
      // #endregion
    });
    expect(output).toBe(docOutput('by-key'));
  });

  it('by tag', async () => {
    const { output } = await runExample('tags');
    expect(output).toBe(docOutput('tags'));
  });

  it('by version', async () => {
    const { output } = await runExample('versions');
    expect(output).toBe(docOutput('versions'));
  });

  it('by expiry, with a fake clock', async () => {
    const clock = new ManualClock();
    const cache = createCache({ clock });
    const env = createEnvironment('templates', { cache });
    let renders = 0;
    const context = { loadHeadlines: () => `v${++renders}` };
    await render(env, 'headlines.njk', context);
    clock.advance(59);
    await render(env, 'headlines.njk', context);
    expect(renders).toBe(1);
    clock.advance(31); // 90 s: past ttl + stale
    await render(env, 'headlines.njk', context);
    expect(renders).toBe(2);
  });

  it('a render in flight when its key is invalidated is not stored', async () => {
    const cache = createCache();
    let release!: () => void;
    const slow = cache.getOrSet('k', () => new Promise<string>((resolve) => (release = () => resolve('old'))));
    await new Promise((resolve) => setTimeout(resolve, 5));
    await cache.delete('k');
    release();
    expect(await slow).toBe('old');
    expect(await cache.get('k')).toBeUndefined();
  });

  it('clear() removes fragments, views and low-level entries alike', async () => {
    const cache = createCache();
    await cache.set('a', 1);
    await cache.getOrSet(fragmentKey('f'), 'x');
    await cache.clear();
    expect(await cache.getMany(['a', fragmentKey('f')])).toEqual(new Map());
  });
});
