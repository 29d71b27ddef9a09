/**
 * `njk-cache invalidate-tag --varnish URL` and `invalidate --varnish URL`: the store part as
 * before, then a purge of the proxy by the same tags (the fragment's implicit tag for
 * `invalidate`), awaited and reported; a proxy that does not confirm fails the command. The proxy
 * is a local stand-in recording the PURGE requests (test/edge runs the purger against a real Varnish).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCache, fragmentKey, implicitTag } from '../../src/index.js';
import { cli, closedPort, ensureBuilt } from './support.js';

vi.setConfig({ testTimeout: 60_000 });

const dir = mkdtempSync(join(tmpdir(), 'njkc-cli-purge-'));
const store = `sqlite://${join(dir, 'cache.db')}`;
let proxy: Server;
let proxyUrl: string;
const purges: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  ensureBuilt();
  const cache = createCache({ store });
  await cache.set('x', 1); // creates the file and table
  await cache.close();
  proxy = createServer((req, res) => {
    if (req.method === 'PURGE') purges.push(req.headers);
    res.writeHead(200).end('purged');
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/`;
}, 120_000);
afterAll(async () => {
  await new Promise((resolve) => proxy.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('njk-cache purges a Varnish', () => {
  it('invalidate-tag --varnish purges by the same tags', async () => {
    purges.length = 0;
    const result = await cli(['invalidate-tag', 'post:1', 'posts', '--store', store, '--varnish', proxyUrl]);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain(`Purged Varnish at ${proxyUrl} by the same tags.`);
    expect(purges).toHaveLength(1);
    expect(String(purges[0]?.['xkey-purge']).split(' ')).toEqual(expect.arrayContaining(['post:1', 'posts']));
  });

  it('invalidate --varnish purges the pages the fragment was rendered into ($CACHE_VARNISH_URL works too)', async () => {
    purges.length = 0;
    const result = await cli(['invalidate', 'card', '42', '--store', store], { env: { CACHE_VARNISH_URL: proxyUrl } });
    expect(result).toMatchObject({ code: 0 });
    expect(purges).toHaveLength(1);
    // The fragment's implicit tag, as the pages it was rendered into announce it.
    expect(String(purges[0]?.['xkey-purge']).split(' ')).toContain(implicitTag(fragmentKey('card', [42])));
  });

  it('fails, naming the cause, when Varnish does not confirm (the store is invalidated all the same)', async () => {
    const result = await cli(['invalidate-tag', 'post:1', '--store', store, '--varnish', `http://127.0.0.1:${await closedPort()}/`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/the store is invalidated, but Varnish at http:\/\/127\.0\.0\.1:\d+\/ did not confirm the purge \(ECONNREFUSED/);
  });
});
