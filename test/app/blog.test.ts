import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache } from '../../src/index.js';
import { PAGE_SIZE } from '../../app/posts.js';
import { cardTitles, Client, sidebarTitles, startDemo, timing, type Running } from './support.js';

describe('demo blog', () => {
  let run: Running;
  beforeAll(async () => {
    run = await startDemo();
  });
  afterAll(() => run.stop());

  it('creates and seeds its database on first start', async () => {
    expect(run.demo.seeded).toBe(true);
    const row = await run.demo.db.get<{ posts: number; authors: number; comments: number }>(
      'SELECT (SELECT COUNT(*) FROM posts) AS posts, (SELECT COUNT(*) FROM authors) AS authors, (SELECT COUNT(*) FROM comments) AS comments',
    );
    expect(row?.posts).toBe(300);
    expect(row?.authors).toBeGreaterThan(5);
    expect(row?.comments).toBeGreaterThan(300);
  });

  describe('home page', () => {
    it('runs its queries inside fragments when cold, and none at all when warm', async () => {
      const client = new Client(run.url);
      const cold = await client.page('/');
      expect(cardTitles(cold.html)).toHaveLength(PAGE_SIZE);
      // One query for the page's post ids, one per card, one for the sidebar: all of them misses.
      expect(cold.timing).toMatchObject({ queries: PAGE_SIZE + 2, misses: PAGE_SIZE + 2, hits: 0 });
      const warm = await client.page('/');
      expect(warm.timing).toMatchObject({ queries: 0, dbMs: 0, misses: 0, hits: PAGE_SIZE + 2 });
      expect(warm.html).toBe(cold.html);
    });

    it('pages through older posts and answers 404 past the last page', async () => {
      const client = new Client(run.url);
      const second = await client.page('/?page=2');
      expect(second.html).toContain('page 2');
      expect(cardTitles(second.html)).toHaveLength(PAGE_SIZE);
      expect((await client.get('/?page=99')).status).toBe(404);
      expect((await client.get('/?page=abc')).status).toBe(404);
    });
  });

  describe('per-user greeting', () => {
    it('is outside every fragment: each user sees their own, and no name reaches the cache', async () => {
      // A Map store lets the test read every stored value.
      const values = new Map<unknown, unknown>();
      const own = await startDemo({ cache: createCache({ store: values }) });
      try {
        const alice = new Client(own.url);
        await alice.post('/login', { _csrf: await alice.csrf('/login'), name: 'Zelda-Alpha' });
        const bob = new Client(own.url);
        await bob.post('/login', { _csrf: await bob.csrf('/login'), name: 'Yorick-Beta' });

        const first = await alice.page('/');
        expect(first.html).toContain('Hello, Zelda-Alpha!');
        const second = await bob.page('/');
        expect(second.html).toContain('Hello, Yorick-Beta!');
        expect(second.html).not.toContain('Zelda-Alpha');
        expect(second.timing).toMatchObject({ misses: 0, queries: 0 }); // Bob got Alice's fragments
        const post = await bob.page('/posts/5');
        expect(post.html).toContain('value="Yorick-Beta"'); // the comment form, outside the fragments
        await alice.page('/posts/5');

        const stored = JSON.stringify([...values.values()]);
        expect(stored).not.toContain('Zelda-Alpha');
        expect(stored).not.toContain('Yorick-Beta');
        expect(stored).not.toContain('_csrf');
        expect(values.size).toBeGreaterThan(PAGE_SIZE);
      } finally {
        await own.stop();
      }
    });

    it('says hello to guests', async () => {
      const { html } = await new Client(run.url).page('/');
      expect(html).toContain('Hello, guest.');
    });
  });

  describe('post page', () => {
    it('nests the body and the comments inside the post fragment; warm, it runs no query', async () => {
      const client = new Client(run.url);
      const cold = await client.page('/posts/7');
      expect(cold.html).toMatch(/<article class="post" data-post-id="7">/);
      expect(cold.timing.queries).toBe(2); // the post, its comments
      const stats = run.demo.cache.stats().byLabel;
      expect(stats.post_body?.misses).toBeGreaterThan(0);
      const warm = await client.page('/posts/7');
      expect(warm.timing).toMatchObject({ queries: 0, misses: 0 });
    });

    it('a new comment re-renders the comments and the post, but the body is still a hit', async () => {
      const client = new Client(run.url);
      await client.page('/posts/8');
      await client.page('/'); // has no card for post 8 (page 1 holds 281-300), but warms the rest
      const before = { ...run.demo.cache.stats().byLabel.post_body };
      const csrf = await client.csrf('/posts/8');
      const posted = await client.post('/posts/8/comments', { _csrf: csrf, name: 'Tester', body: 'A comment from the test suite.' });
      expect(posted.status).toBe(303);
      expect(posted.headers.get('location')).toBe('/posts/8?commented=1#comments');
      const after = await client.page('/posts/8');
      expect(after.html).toContain('A comment from the test suite.');
      expect(after.timing.queries).toBe(2); // the post and its comments; the body fragment hit
      expect(run.demo.cache.stats().byLabel.post_body?.hits).toBe((before.hits ?? 0) + 1);
    });

    it('answers 404 for a post that does not exist, and caches nothing for it', async () => {
      const client = new Client(run.url);
      const response = await client.get('/posts/99999');
      expect(response.status).toBe(404);
      expect(await response.text()).toContain('Not found');
      expect((await client.get('/posts/99999')).status).toBe(404);
      expect((await client.get('/posts/nope')).status).toBe(404);
      expect((await client.get('/no/such/page')).status).toBe(404);
    });

    it('never shows a file system path on a 4xx page', async () => {
      const client = new Client(run.url);
      const root = fileURLToPath(new URL('../..', import.meta.url));
      for (const path of ['/static/nope.css', '/static/%E0%A4%A', '/static/../../etc/passwd', '/posts/%E0%A4%A', '/no/such/page']) {
        const response = await client.get(path);
        const body = await response.text();
        expect(response.status, path).toBeGreaterThanOrEqual(400);
        expect(response.status, path).toBeLessThan(500);
        expect(body, path).not.toContain(root);
        expect(body, path).not.toMatch(/ENOENT|\/app\/public|node_modules|\n\s+at /);
      }
    });
  });

  describe('editing a post', () => {
    it('invalidates exactly its card, its page and (title changed) the sidebar', async () => {
      const client = new Client(run.url);
      await client.page('/');
      await client.page('/posts/300');
      await client.page('/posts/299');
      const csrf = await client.csrf('/posts/300/edit');
      const saved = await client.post('/posts/300/edit', { _csrf: csrf, title: 'Edited by the test', body: 'New text.\n\nSecond paragraph.' });
      expect(saved.status).toBe(303);
      expect(saved.headers.get('location')).toBe('/posts/300?saved=post%3A300%2Cpost-titles');

      const home = await client.page('/');
      expect(cardTitles(home.html)[0]).toBe('Edited by the test');
      expect(sidebarTitles(home.html)[0]).toBe('Edited by the test');
      // Only the card and the sidebar re-rendered; every other card hit.
      expect(home.timing).toMatchObject({ misses: 2, queries: 2, hits: PAGE_SIZE });

      const post = await client.page('/posts/300?saved=post%3A300%2Cpost-titles');
      expect(post.html).toContain('<h1>Edited by the test</h1>');
      expect(post.html).toContain('<p>Second paragraph.</p>');
      expect(post.html).toContain('Invalidated');
      // The post and its body (which varies on updatedAt) re-rendered; the comments and the sidebar hit.
      expect(post.timing).toMatchObject({ misses: 2, queries: 1 });

      const other = await client.page('/posts/299');
      expect(other.timing).toMatchObject({ misses: 0, queries: 0 });
    });

    it('leaves the sidebar alone when only the text changes', async () => {
      const client = new Client(run.url);
      await client.page('/');
      const csrf = await client.csrf('/posts/298/edit');
      const { html: form } = await client.page('/posts/298/edit');
      const title = /name="title" maxlength="200" required value="([^"]*)"/.exec(form)?.[1] ?? '';
      const saved = await client.post('/posts/298/edit', { _csrf: csrf, title: title.replace(/&#39;/g, "'"), body: 'Only the text changed.' });
      expect(saved.headers.get('location')).toBe('/posts/298?saved=post%3A298');
      const home = await client.page('/');
      expect(home.timing).toMatchObject({ misses: 1, queries: 1 });
      expect(home.html).toContain('Only the text changed.');
    });

    it('shows the form again with messages when the input is invalid', async () => {
      const client = new Client(run.url);
      const csrf = await client.csrf('/posts/10/edit');
      const response = await client.post('/posts/10/edit', { _csrf: csrf, title: '', body: 'x' });
      expect(response.status).toBe(422);
      expect(await response.text()).toContain('The title must be 1 to 200 characters long.');
    });

    it('refuses a form without its CSRF token', async () => {
      const client = new Client(run.url);
      await client.csrf('/posts/10/edit'); // has the cookie, but sends no field
      expect((await client.post('/posts/10/edit', { title: 'x', body: 'y' })).status).toBe(403);
      expect((await client.post('/posts/10/edit', { _csrf: 'A'.repeat(43), title: 'x', body: 'y' })).status).toBe(403);
      expect((await client.post('/posts/10/comments', { name: 'x', body: 'y' })).status).toBe(403);
      expect((await client.post('/login', { name: 'x' })).status).toBe(403);
    });
  });

  describe('about page', () => {
    it('is cached whole, and carries no per-user content or cookie', async () => {
      const client = new Client(run.url);
      await client.post('/login', { _csrf: await client.csrf('/login'), name: 'Quentin-Gamma' });
      const first = await client.get('/about');
      const firstHtml = await first.text();
      const second = await client.get('/about');
      expect(second.status).toBe(200);
      expect(second.headers.get('x-cache')).toBe('HIT');
      expect(second.headers.get('set-cookie')).toBeNull();
      expect(await second.text()).toBe(firstHtml);
      expect(firstHtml).not.toContain('Quentin-Gamma');
      expect(timing(second.headers.get('server-timing'))).toMatchObject({ queries: 0, misses: 0 });
    });
  });

  it('sends Server-Timing on every response', async () => {
    const client = new Client(run.url);
    for (const path of ['/', '/posts/1', '/about', '/login', '/posts/1/edit', '/missing', '/_cache']) {
      const response = await client.get(path);
      expect(response.headers.get('server-timing'), path).toMatch(/^total;dur=[\d.]+, db;dur=[\d.]+;desc="\d+ quer(y|ies)", cache;desc="/);
    }
  });
});
