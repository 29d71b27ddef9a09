import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../app/posts.js';
import { Client, startDemo, type Running } from './support.js';

describe('cache dashboard at /_cache', () => {
  let run: Running;
  beforeAll(async () => {
    run = await startDemo();
  });
  afterAll(() => run.stop());

  it('shows overall and per-fragment counters, usage and the chart, and is never cached', async () => {
    const client = new Client(run.url);
    await client.page('/');
    await client.page('/');
    const response = await client.get('/_cache');
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const html = await response.text();
    expect(html).toMatch(/data-testid="hits">22</);
    expect(html).toMatch(/data-testid="misses">22</);
    expect(html).toMatch(/<tr data-label="card">[\s\S]*?data-testid="label-hits">20</);
    expect(html).toContain('<svg');
    expect(html).toContain('50.0 %');
    expect(html).toMatch(/<span class="value">\d+<\/span><span class="label">entries/);
    // Loading the dashboard looked nothing up.
    const again = await (await client.get('/_cache')).text();
    expect(again).toMatch(/data-testid="hits">22</);
  });

  it('serves the same figures as JSON', async () => {
    const response = await new Client(run.url).get('/_cache/stats.json');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as { overall: { hits: number }; labels: Array<{ name: string; kind: string }>; series: unknown[]; store: { kind: string } };
    expect(body.store.kind).toBe('memory');
    expect(body.labels.map((l) => [l.name, l.kind])).toContainEqual(['data:post-list', 'data']);
    expect(body.series.length).toBe(60);
  });

  it('answers only to a loopback host name when no token is set (no DNS rebinding)', async () => {
    const { port } = new URL(run.url);
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/_cache', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await status(`attacker.example:${port}`)).toBe(403);
    expect(await status('rebind.127.0.0.1.nip.io')).toBe(403);
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `app.localhost:${port}`]) expect(await status(host), host).toBe(200);
  });

  it('refuses requests that came through a proxy when no token is set', async () => {
    const client = new Client(run.url);
    for (const header of ['x-forwarded-for', 'forwarded', 'x-real-ip']) {
      const response = await client.get('/_cache', { [header]: '203.0.113.9' });
      expect(response.status, header).toBe(403);
      expect(await response.text()).toContain('loopback');
    }
  });

  describe('actions', () => {
    it('are POST-only', async () => {
      const client = new Client(run.url);
      for (const action of ['invalidate-fragment', 'invalidate-tag', 'clear']) {
        const response = await client.get(`/_cache/${action}`);
        expect(response.status).toBe(405);
        expect(response.headers.get('allow')).toBe('POST');
      }
    });

    it('need the CSRF token of the dashboard forms', async () => {
      const client = new Client(run.url);
      await client.csrf('/_cache');
      expect((await client.post('/_cache/clear', {})).status).toBe(403);
      expect((await client.post('/_cache/invalidate-tag', { tag: 'x', _csrf: 'forged' })).status).toBe(403);
    });

    it('invalidate one fragment by name and vary-on values, read as JSON (42 is a number)', async () => {
      const client = new Client(run.url);
      await client.page('/');
      const csrf = await client.csrf('/_cache');
      const asString = await client.post('/_cache/invalidate-fragment', { _csrf: csrf, name: 'card', vary: '"300"' });
      expect(asString.status).toBe(303);
      const notice = await (await client.get(asString.headers.get('location') ?? '')).text();
      expect(notice).toContain('was not in the cache');
      expect((await client.page('/')).timing.misses).toBe(0);

      const asNumber = await client.post('/_cache/invalidate-fragment', { _csrf: csrf, name: 'card', vary: '300' });
      expect(await (await client.get(asNumber.headers.get('location') ?? '')).text()).toContain('Invalidated fragment card [300].');
      expect((await client.page('/')).timing).toMatchObject({ misses: 1, queries: 1 });

      const raw = await client.post('/_cache/invalidate-fragment', { _csrf: csrf, name: 'card', vary: '300', raw: '1' });
      expect(new URL(raw.headers.get('location') ?? '', run.url).searchParams.get('detail')).toBe('card ["300"]');
    });

    it('invalidate a tag, and list it with where it came from', async () => {
      const client = new Client(run.url);
      await client.page('/');
      const csrf = await client.csrf('/_cache');
      await client.post('/_cache/invalidate-tag', { _csrf: csrf, tag: 'post-titles' });
      expect((await client.page('/')).timing).toMatchObject({ misses: 1 }); // the sidebar
      const html = await (await client.get('/_cache')).text();
      expect(html).toMatch(/<td data-title="What">tag post-titles<\/td><td data-title="From"><code>POST \/_cache\/invalidate-tag<\/code>/);
    });

    it('lists a fragment invalidation with its name and vary-on values, not a key hash', async () => {
      const client = new Client(run.url);
      await client.page('/');
      const csrf = await client.csrf('/_cache');
      await client.post('/_cache/invalidate-fragment', { _csrf: csrf, name: 'card', vary: '299' });
      const html = await (await client.get('/_cache')).text();
      expect(html).toContain('<td data-title="What">fragment card [299]</td>');
      expect(html).not.toMatch(/fragment card #[0-9a-f]{8}/);
    });

    it('clear everything, after a confirmation', async () => {
      const client = new Client(run.url);
      await client.page('/');
      const csrf = await client.csrf('/_cache');
      const asked = await client.post('/_cache/clear', { _csrf: csrf });
      expect(asked.status).toBe(303);
      const question = await (await client.get(asked.headers.get('location') ?? '')).text();
      expect(question).toContain('Clear the whole cache?');
      expect(question).toMatch(/<input type="hidden" name="confirm" value="yes">\s*<button type="submit" class="danger">Yes, clear everything<\/button>/);
      expect((await client.page('/')).timing).toMatchObject({ misses: 0 }); // nothing cleared yet
      const response = await client.post('/_cache/clear', { _csrf: csrf, confirm: 'yes' });
      expect(response.status).toBe(303);
      expect((await client.page('/')).timing).toMatchObject({ misses: PAGE_SIZE + 2, hits: 0 });
      expect(await (await client.get('/_cache')).text()).toContain('everything (clear)');
    });
  });
});

describe('cache dashboard with a token', () => {
  let run: Running;
  beforeAll(async () => {
    run = await startDemo({ dashboardToken: 's3cret-token' });
  });
  afterAll(() => run.stop());

  it('refuses everyone without the token, loopback included', async () => {
    const response = await new Client(run.url).get('/_cache');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('Bearer');
    expect((await new Client(run.url).get('/_cache', { authorization: 'Bearer wrong' })).status).toBe(401);
  });

  it('accepts the token as a bearer header, even through a proxy', async () => {
    const client = new Client(run.url, { authorization: 'Bearer s3cret-token', 'x-forwarded-for': '203.0.113.9' });
    expect((await client.get('/_cache')).status).toBe(200);
    expect((await client.get('/_cache/stats.json')).status).toBe(200);
  });

  it('takes ?token= once, keeps it in a cookie and drops it from the address', async () => {
    const client = new Client(run.url);
    const first = await client.get('/_cache?token=s3cret-token');
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/_cache');
    expect(first.headers.get('set-cookie')).toMatch(/njkc_dashboard=s3cret-token; Path=\/_cache; HttpOnly; SameSite=Strict/);
    expect((await client.get('/_cache')).status).toBe(200);
  });
});
