/**
 * The demo in a real browser: Debian's Chromium driven by playwright-core. Loads the home page,
 * edits a post through the form, sees the change on the home page and the post page, opens the
 * dashboard and sees the hits counted, and saves a screenshot of it (test-results/dashboard.png).
 *
 * Without Chromium this file skips with a message; in CI (CI=true) a missing Chromium fails it.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PAGE_SIZE } from '../../app/posts.js';
import { startDemo, timing, type Running } from '../app/support.js';

vi.setConfig({ testTimeout: 60_000 });

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = process.env.DASHBOARD_SCREENSHOT ?? fileURLToPath(new URL('../../test-results/dashboard.png', import.meta.url));
const PHONE_SCREENSHOT = fileURLToPath(new URL('../../test-results/dashboard-390.png', import.meta.url));

/** How far the page would scroll sideways (0 when it fits the viewport). */
async function sidewaysOverflow(page: Page): Promise<number> {
  type Doc = { documentElement: { scrollWidth: number; clientWidth: number } };
  return page.evaluate(() => {
    const { documentElement } = (globalThis as unknown as { document: Doc }).document;
    return documentElement.scrollWidth - documentElement.clientWidth;
  });
}
// Without these Chromium keeps trying to reach Google's services from a machine with no network.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** What the browser itself received as Server-Timing for the page it shows (what DevTools shows). */
async function navigationTiming(page: Page): Promise<Record<string, { duration: number; description: string }>> {
  // Runs in the page; typed by hand because the tests compile without the DOM library.
  type Entry = { name: string; duration: number; description: string };
  type Perf = { getEntriesByType(type: 'navigation'): Array<{ serverTiming?: Entry[] }> };
  const entries = await page.evaluate(() => {
    const [navigation] = (globalThis as unknown as { performance: Perf }).performance.getEntriesByType('navigation');
    return (navigation?.serverTiming ?? []).map((e: Entry) => ({ name: e.name, duration: e.duration, description: e.description }));
  });
  return Object.fromEntries(entries.map((e) => [e.name, { duration: e.duration, description: e.description }]));
}

if (!existsSync(CHROMIUM)) {
  if (process.env.CI) {
    describe('demo in Chromium', () => {
      it('needs Chromium', () => {
        throw new Error(`Chromium not found at ${CHROMIUM}: .ci/run installs Debian's chromium package; set CHROMIUM_PATH if it lives elsewhere.`);
      });
    });
  } else {
    console.warn(`\n[skip] browser test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH).\n`);
    describe.skip(`demo in Chromium (no Chromium at ${CHROMIUM})`, () => {
      it('skipped', () => {});
    });
  }
} else {
  describe('demo in Chromium', () => {
    let run: Running;
    let profile: string;
    let context: BrowserContext;
    let page: Page;

    beforeAll(async () => {
      run = await startDemo();
      profile = mkdtempSync(join(tmpdir(), 'njkc-chromium-'));
      context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
      page = context.pages()[0] ?? (await context.newPage());
    }, 60_000);

    afterAll(async () => {
      await context?.close();
      await run?.stop();
      if (profile) rmSync(profile, { recursive: true, force: true });
    });

    it('shows the home page; the second load runs no database query (Server-Timing)', async () => {
      const cold = await page.goto(`${run.url}/`);
      expect(cold?.status()).toBe(200);
      expect(timing(cold?.headers()['server-timing'] ?? null)).toMatchObject({ queries: PAGE_SIZE + 2 });
      await expect.poll(() => page.locator('article.card').count()).toBe(PAGE_SIZE);

      const warm = await page.reload();
      expect(timing(warm?.headers()['server-timing'] ?? null)).toMatchObject({ queries: 0, misses: 0 });
      const seen = await navigationTiming(page);
      expect(seen.db?.description).toBe('0 queries');
      expect(seen.db?.duration).toBe(0);
      expect(seen.cache?.description).toBe(`${PAGE_SIZE + 2} hits, 0 misses, 0 stale`);
      expect(seen.total?.duration).toBeGreaterThan(0);
      // The footer says so, from the same Server-Timing numbers.
      await expect.poll(() => page.getByTestId('served').getAttribute('data-served')).toBe('cache');
      expect(await page.getByTestId('served').textContent()).toBe(`This view was served from the cache: ${PAGE_SIZE + 2} hits, 0 stale, 0 database queries, ${seen.total?.duration.toFixed(1)} ms.`);
    });

    it('says in the footer when a view was rendered rather than served from the cache', async () => {
      await page.goto(`${run.url}/posts/298`);
      await expect.poll(() => page.getByTestId('served').getAttribute('data-served')).toBe('render');
      const seen = await navigationTiming(page);
      const queries = /(\d+) quer/.exec(seen.db?.description ?? '')?.[1];
      expect(await page.getByTestId('served').textContent()).toMatch(new RegExp(`^This view was rendered now: \\d+ miss(es)?, \\d+ hits, ${queries} database quer`));
    });

    it('signs in through the form and greets the user outside the fragments', async () => {
      await page.getByRole('link', { name: 'Sign in' }).click();
      await page.getByLabel('Your name').fill('Browser Tester');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${run.url}/`);
      await expect.poll(() => page.getByTestId('greeting').textContent()).toContain('Hello, Browser Tester!');
      expect((await navigationTiming(page)).db?.description).toBe('0 queries');
    });

    it('edits a post; the new title shows at once on the post page and the home page', async () => {
      const card = page.locator('article.card').first();
      const oldTitle = (await card.locator('h2 a').textContent())?.trim();
      await card.locator('h2 a').click();
      await expect.poll(() => page.locator('article.post h1').textContent()).toBe(oldTitle);

      await page.getByRole('link', { name: 'Edit this post' }).click();
      await page.getByLabel('Title').fill('Edited in Chromium');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.waitForURL(/\/posts\/\d+\?saved=/);
      expect(await page.locator('article.post h1').textContent()).toBe('Edited in Chromium');
      expect(await page.getByRole('status').textContent()).toContain('post-titles');
      expect(await page.locator('.sidebar li a').first().textContent()).toBe('Edited in Chromium');

      await page.getByRole('link', { name: 'Home' }).click();
      await page.waitForURL(`${run.url}/`);
      expect(await page.locator('article.card h2 a').first().textContent()).toBe('Edited in Chromium');
      expect(await page.locator('article.card h2 a').allTextContents()).not.toContain(oldTitle);
      // Only the edited card re-rendered (the sidebar already did on the post page).
      expect((await navigationTiming(page)).cache?.description).toBe(`${PAGE_SIZE + 1} hits, 1 miss, 0 stale`);
    });

    it('opens /_cache, sees the hits counted, invalidates a tag from the form, and saves a screenshot', async () => {
      await page.goto(`${run.url}/posts/299`);
      await page.goto(`${run.url}/about`);
      await page.goto(`${run.url}/about`);
      await page.goto(`${run.url}/_cache`);
      const hits = Number(await page.getByTestId('hits').textContent());
      expect(hits).toBeGreaterThan(PAGE_SIZE * 2);
      const cardRow = page.locator('tr[data-label="card"]');
      expect(Number(await cardRow.getByTestId('label-hits').textContent())).toBeGreaterThanOrEqual(PAGE_SIZE * 2);

      await page.getByLabel('Tag').fill('post-titles');
      await page.getByRole('button', { name: 'Invalidate tag' }).click();
      await page.waitForURL(/\/_cache\/\?done=tag/);
      expect(await page.getByRole('status').textContent()).toContain('Invalidated every entry tagged post-titles.');
      expect(await page.locator('table.invalidations').textContent()).toContain('tag post-titles');

      await page.goto(`${run.url}/`);
      await page.goto(`${run.url}/`);
      await page.goto(`${run.url}/_cache`);
      expect(Number(await page.getByTestId('hits').textContent())).toBeGreaterThan(hits);
      mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect(existsSync(SCREENSHOT)).toBe(true);
    });

    it('fits a 390 px phone: no sideways scroll on the dashboard or the pages, a labelled chart, and a screenshot', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      try {
        for (const path of ['/', '/posts/299', '/about']) {
          await page.goto(`${run.url}${path}`);
          expect(await sidewaysOverflow(page), path).toBe(0);
        }
        await page.goto(`${run.url}/_cache`);
        expect(await sidewaysOverflow(page)).toBe(0);
        // The per-fragment table becomes one card per row, each figure labelled.
        const cardRow = page.locator('tr[data-label="card"]');
        expect((await cardRow.boundingBox())?.width ?? 999).toBeLessThanOrEqual(390);
        expect(await cardRow.getByTestId('label-hits').evaluate((td) => (globalThis as unknown as { getComputedStyle(e: unknown, pseudo: string): { content: string } }).getComputedStyle(td, '::before').content)).toBe('"Hits"');
        expect(await page.locator('.axis span').allTextContents()).toHaveLength(5);
        await page.screenshot({ path: PHONE_SCREENSHOT, fullPage: true });
        expect(existsSync(PHONE_SCREENSHOT)).toBe(true);
      } finally {
        await page.setViewportSize({ width: 1280, height: 900 });
      }
    });
  });
}
