import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PAGE_SIZE } from '../../app/posts.js';
import { Client, redisDb, startDemo, type Running } from '../app/support.js';
import { REDIS_URL, announceSkip } from '../support/env.js';
import { cli, closedPort, ensureBuilt } from './support.js';

// Each test runs the binary several times; on a loaded CI machine a process start takes a while.
vi.setConfig({ testTimeout: 60_000 });

const dir = mkdtempSync(join(tmpdir(), 'njkc-cli-'));
const STORE_COMMANDS = ['invalidate card 1', 'invalidate-tag t', 'clear', 'stats'];
beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tables(file: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (error) => {
      if (error) return reject(error);
      db.all("SELECT name FROM sqlite_master WHERE type = 'table'", (err, rows: Array<{ name: string }>) => {
        db.close();
        if (err) reject(err);
        else resolve(rows.map((row) => row.name));
      });
    });
  });
}

describe('njk-cache: the command line itself', () => {
  it('has --help for the program and every command (exit 0), each naming --store', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const command of ['render', 'invalidate', 'invalidate-tag', 'clear', 'stats', 'create-table', 'warm']) expect(top.stdout).toContain(command);
    const helps = await Promise.all(['render', 'invalidate', 'invalidate-tag', 'clear', 'stats', 'create-table', 'warm'].map((c) => cli([c, '--help'])));
    for (const help of helps) {
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('--store <url>');
      expect(help.stdout).toContain('Exit status');
    }
  });

  it('prints its version', async () => {
    const result = await cli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('exits 2 with a clear message for a wrong command line', async () => {
    const [unknown, missing, option] = await Promise.all([cli(['frobnicate']), cli(['invalidate']), cli(['clear', '--nope'])]);
    expect(unknown).toMatchObject({ code: 2 });
    expect(unknown.stderr).toContain("njk-cache: error: unknown command 'frobnicate'");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'name'");
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("unknown option '--nope'");
  });

  it('exits 2 for a bad store URL, on every command', async () => {
    const results = await Promise.all([...STORE_COMMANDS, 'create-table', 'render x.njk', 'warm http://127.0.0.1:1/'].map((c) => cli([...c.split(' '), '--store', 'nosuch://x'])));
    for (const result of results) {
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^njk-cache: error: bad store URL: Unknown cache store "nosuch:\/\/x"/);
    }
  });

  it('never prints the credentials of a store URL it rejects', async () => {
    const results = await Promise.all(['redis://app:s3cret@127.0.0.1:99999999/0', 'redis://:s3cret@127.0.0.1:6379/0?tier=memroy', 'postgres://app@db/x?password=s3cret&tier=disk'].map((url) => cli(['stats', '--store', url])));
    for (const result of results) {
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/bad store URL/);
      expect(result.stderr + result.stdout).not.toContain('s3cret');
    }
  });

  it('exits 1 when the store cannot be reached, on every command', async () => {
    const port = await closedPort();
    const url = `redis://:hunter2@127.0.0.1:${port}/0`;
    const results = await Promise.all([...STORE_COMMANDS, 'create-table'].map((c) => cli([...c.split(' '), '--store', url, '--timeout', '400'])));
    for (const result of results) {
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`njk-cache: error: cannot reach the cache store redis://:***@127.0.0.1:${port}/0`);
      expect(result.stderr).not.toContain('hunter2');
    }
  });

  it('fails in well under a second on a refused connection, naming the cause (no "--timeout" advice)', async () => {
    const port = await closedPort();
    const started = performance.now();
    // The default --timeout (5 000 ms): only the driver's own answer can make it fast.
    const result = await cli(['stats', '--store', `redis://127.0.0.1:${port}/0`]);
    const elapsed = performance.now() - started;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot reach the cache store redis://127.0.0.1:${port}/0: connection refused at 127.0.0.1:${port} (ECONNREFUSED)`);
    expect(result.stderr).not.toContain('--timeout');
    // Node's own start-up is part of this; on a loaded two-core machine it alone can take 300 ms.
    expect(elapsed).toBeLessThan(1_000);
  });

  it('names a host that does not resolve as a DNS failure', async () => {
    const result = await cli(['stats', '--store', 'redis://no-such-host.invalid:6379/0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('DNS lookup of the host "no-such-host.invalid" failed');
  });

  it('refuses the memory store where it could only mislead (it is private to the CLI process)', async () => {
    const results = await Promise.all(STORE_COMMANDS.map((c) => cli(c.split(' '))));
    for (const result of results) {
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('the "memory" store lives inside each process');
    }
  });

  it('refuses a SQLite file that does not exist instead of creating it', async () => {
    const result = await cli(['stats', '--store', `sqlite://${join(dir, 'typo.db')}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no SQLite cache at ${join(dir, 'typo.db')}`);
  });

  it('render and warm refuse a SQLite file that does not exist too (only create-table creates one)', async () => {
    const typo = join(dir, 'typo-render.db');
    mkdirSync(join(dir, 'typo-templates'), { recursive: true });
    writeFileSync(join(dir, 'typo-templates', 'x.njk'), 'x');
    const results = await Promise.all([cli(['render', 'x.njk', '--templates', join(dir, 'typo-templates'), '--store', `sqlite://${typo}`]), cli(['warm', 'http://127.0.0.1:1/', '--store', `sqlite://${typo}`])]);
    for (const result of results) {
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`no SQLite cache at ${typo}`);
    }
    expect(existsSync(typo)).toBe(false);
  });

  it('takes the store from CACHE_URL when --store is not given', async () => {
    const result = await cli(['stats'], { env: { CACHE_URL: `sqlite://${join(dir, 'typo.db')}` } });
    expect(result.stderr).toContain('no SQLite cache at');
  });
});

describe('njk-cache --key-version', () => {
  it('reaches entries an app wrote at another version, and refuses a version that is not a number', async () => {
    const store = `sqlite://${join(dir, 'versions.db')}`;
    const { createCache, fragmentKey } = await import('../../src/index.js');
    const app = createCache({ store, version: 2 });
    await app.set(fragmentKey('sidebar'), '<nav>v2</nav>');
    await app.close();
    const atDefault = await cli(['invalidate', 'sidebar', '--store', store]);
    expect(atDefault.stdout).toContain('was not in');
    const atTwo = await cli(['invalidate', 'sidebar', '--store', store, '--key-version', '2']);
    expect(atTwo.code).toBe(0);
    expect(atTwo.stdout).toMatch(/^Removed fragment sidebar \[\] \(key :2:fragment:sidebar\)/);
    const bad = await cli(['invalidate', 'sidebar', '--store', store, '--key-version', 'two']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--key-version must be a whole number');
  });
});

describe('njk-cache create-table', () => {
  it('creates the SQLite file and its table, idempotently, with an optional table name', async () => {
    const file = join(dir, 'made.db');
    const first = await cli(['create-table', '--store', `sqlite://${file}`]);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain(`is ready in ${file}`);
    expect(await tables(file)).toContain('njkc_cache');
    expect((await cli(['create-table', '--store', `sqlite://${file}`])).code).toBe(0);
    const named = await cli(['create-table', '--store', `sqlite://${file}?table=my_cache`]);
    expect(named.stdout).toContain('The cache table my_cache is ready');
    expect(await tables(file)).toContain('my_cache');
  });

  it('resolves a relative SQLite path against the working folder', async () => {
    mkdirSync(join(dir, 'work'));
    const result = await cli(['create-table', '--store', 'sqlite://rel.db'], { cwd: join(dir, 'work') });
    expect(result.code).toBe(0);
    expect(await tables(join(dir, 'work', 'rel.db'))).toContain('njkc_cache');
  });

  it('says there is nothing to do for a store without tables', async () => {
    const result = await cli(['create-table']);
    expect(result).toMatchObject({ code: 0, stdout: 'Nothing to do: a memory store needs no table.\n' });
  });

  it('exits 1 when the file cannot be created', async () => {
    const result = await cli(['create-table', '--store', `sqlite://${join(dir, 'no', 'such', 'dir', 'x.db')}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('SQLITE_CANTOPEN');
  });
});

describe('njk-cache render', () => {
  const templates = join(dir, 'templates');
  beforeAll(() => {
    mkdirSync(join(templates, 'sub'), { recursive: true });
    writeFileSync(join(templates, 'list.njk'), '<h1>{{ title }}</h1><% cache 600 items tags=["items"] %><% for i in items %><li>{{ i }}</li><% endfor %><% endcache %>\n');
    writeFileSync(join(templates, 'sub', 'plain.njk'), '{% raw %}x{% endraw %}{{ 1 + 1 }}');
    writeFileSync(join(templates, 'broken.njk'), '<% cache 600 %>oops');
    writeFileSync(join(dir, 'context.json'), JSON.stringify({ title: 'Fish & chips', items: ['a', 'b'] }));
    writeFileSync(join(dir, 'bad.json'), '{ nope');
    writeFileSync(join(dir, 'array.json'), '[1]');
  });

  it('prints the HTML, autoescaped, with fragments stored in the shared store', async () => {
    const store = `sqlite://${join(dir, 'render.db')}`;
    const args = ['render', 'list.njk', '--templates', templates, '--context', join(dir, 'context.json'), '--store', store, '--stats'];
    expect((await cli(['create-table', '--store', store])).code).toBe(0); // render refuses a file that does not exist
    const first = await cli(args);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('<h1>Fish &amp; chips</h1><li>a</li><li>b</li>\n');
    expect(first.stderr).toContain('list.njk: 0 fragment hits, 1 miss');
    const second = await cli(args);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toContain('list.njk: 1 fragment hit, 0 misses'); // stored by the first process
    const invalidated = await cli(['invalidate', 'items', '--store', store]);
    expect(invalidated.stdout).toContain('Removed fragment items []');
    expect((await cli(args)).stderr).toContain('0 fragment hits, 1 miss ');
  });

  it('finds templates in ./templates by default, by name or by path, with other delimiters on request', async () => {
    const [byName, byPath] = await Promise.all([cli(['render', 'sub/plain.njk', '--block-start', '{%', '--block-end', '%}'], { cwd: dir }), cli(['render', 'templates/sub/plain.njk'], { cwd: dir })]);
    expect(byName).toMatchObject({ code: 0, stdout: 'x2\n' });
    expect(byPath.code).toBe(0);
    expect(byPath.stdout).toBe('{% raw %}x{% endraw %}2\n'); // with <% %> tags, {% %} is text
  });

  it('exits 1 with a clear message for a missing template, folder or context file', async () => {
    const [template, folder, context, badJson, notObject, syntax] = await Promise.all([
      cli(['render', 'nope.njk', '--templates', templates]),
      cli(['render', 'list.njk', '--templates', join(dir, 'nowhere')]),
      cli(['render', 'list.njk', '--templates', templates, '--context', join(dir, 'missing.json')]),
      cli(['render', 'list.njk', '--templates', templates, '--context', join(dir, 'bad.json')]),
      cli(['render', 'list.njk', '--templates', templates, '--context', join(dir, 'array.json')]),
      cli(['render', 'broken.njk', '--templates', templates]),
    ]);
    expect(template).toMatchObject({ code: 1, stderr: `njk-cache: error: template not found: "nope.njk" in ${templates}.\n` });
    expect(folder.code).toBe(1);
    expect(folder.stderr).toContain('templates folder not found');
    expect(context.code).toBe(1);
    expect(context.stderr).toContain('cannot read the context file');
    expect(badJson.stderr).toContain('is not valid JSON');
    expect(notObject.stderr).toContain('must hold a JSON object');
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toContain('cannot render broken.njk');
    expect(syntax.stderr).toContain('missing fragment name');
  });
});

describe('njk-cache against the demo app on a shared SQLite store', () => {
  let run: Running;
  let store: string;
  let client: Client;
  beforeAll(async () => {
    store = `sqlite://${join(dir, 'shared.db')}`;
    run = await startDemo({ cacheUrl: store });
    client = new Client(run.url);
  });
  afterAll(() => run.stop());

  it('invalidate card 42 removes the card the template keyed with the number post.id', async () => {
    await client.page('/');
    expect((await client.page('/')).timing.misses).toBe(0);
    const asString = await cli(['invalidate', 'card', '"300"', '--store', store]);
    expect(asString.code).toBe(0);
    expect(asString.stdout).toContain('Fragment card ["300"] was not in');
    const raw = await cli(['invalidate', '--raw-strings', 'card', '300', '--store', store]);
    expect(raw.stdout).toContain('Fragment card ["300"] was not in');
    expect((await client.page('/')).timing.misses).toBe(0);

    const asNumber = await cli(['invalidate', 'card', '300', '--store', store]);
    expect(asNumber.code).toBe(0);
    expect(asNumber.stdout).toMatch(/^Removed fragment card \[300\] \(key :1:fragment:card:[0-9a-f]{32}\)/);
    expect((await client.page('/')).timing).toMatchObject({ misses: 1, queries: 1 });
  });

  it('invalidate-tag makes every entry with the tag miss', async () => {
    await client.page('/');
    const result = await cli(['invalidate-tag', 'post-titles', 'comments:299', '--store', store]);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain('Invalidated tags post-titles, comments:299');
    expect((await client.page('/')).timing).toMatchObject({ misses: 2 }); // the sidebar, card 299
  });

  it('stats reports entries and bytes, says where hit counters live, and reads them with --app', async () => {
    const plain = await cli(['stats', '--store', store]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/entries +[1-9]\d*/);
    expect(plain.stdout).toMatch(/bytes +[\d.]+ KiB/);
    expect(plain.stdout).toContain('Hit and miss counters are not kept in the store');
    const json = JSON.parse((await cli(['stats', '--store', store, '--json'])).stdout) as { store: { kind: string; entries: number; reachable: boolean } };
    expect(json.store).toMatchObject({ kind: 'sqlite', reachable: true });
    const withApp = await cli(['stats', '--store', store, '--app', run.url]);
    expect(withApp.code).toBe(0);
    expect(withApp.stdout).toMatch(/lookups +\d+ hits, \d+ misses/);
    expect(withApp.stdout).toMatch(/\ncard +\d+ +\d+/);
    const noApp = await cli(['stats', '--app', `http://127.0.0.1:${await closedPort()}`]);
    expect(noApp.code).toBe(1);
    expect(noApp.stderr).toContain('cannot reach the app');
  });

  it('warm requests URLs with progress and a summary, and fails for a URL that fails', async () => {
    await cli(['clear', '--store', store]);
    const list = join(dir, 'urls.txt');
    writeFileSync(list, `# pages to warm\n${run.url}/posts/1\n\n${run.url}/posts/2\n`);
    const result = await cli(['warm', `${run.url}/`, '--file', list, '--store', store, '--concurrency', '2']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/\[1\/3\] 200 /);
    expect(result.stderr).toMatch(/\[3\/3\] 200 /);
    expect(result.stdout).toContain('Warmed 3 URLs in');
    expect(result.stdout).toContain('3 OK, 0 failed.');
    expect(result.stdout).toMatch(/Server-Timing: \d+ miss(es)? \(rendered and stored now\)/);
    expect(result.stdout).toMatch(/Entries in sqlite:\/\/.*: 0 → [1-9]\d*\./);
    expect((await client.page('/')).timing).toMatchObject({ misses: 0, queries: 0 });

    const failing = await cli(['warm', `${run.url}/`, `${run.url}/no-such-page`, '--quiet']);
    expect(failing.code).toBe(1);
    expect(failing.stderr).not.toContain('[1/2]');
    expect(failing.stdout).toContain(`failed: ${run.url}/no-such-page: HTTP 404`);
    expect(failing.stderr).toContain('1 of 2 URLs failed');
  });

  it('warm exits 2 for no URLs or a malformed one', async () => {
    const [none, bad] = await Promise.all([cli(['warm']), cli(['warm', 'example'])]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no URLs to warm');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not a URL: "example"');
  });

  it('clear removes every entry', async () => {
    await client.page('/');
    const result = await cli(['clear', '--store', store]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Cleared the cache in sqlite:\/\/.* \(\d+ entries\)/);
    expect((await client.page('/')).timing).toMatchObject({ misses: PAGE_SIZE + 2, hits: 0 });
  });
});

if (REDIS_URL === undefined) {
  announceSkip('CLI on Redis', 'REDIS_URL');
  describe.skip('njk-cache against Redis (REDIS_URL not set)', () => {
    it('skipped', () => {});
  });
} else {
  // A database of its own: `clear` empties the whole namespace, and other suites share Redis.
  const store = redisDb(REDIS_URL, 13);
  describe('njk-cache against the demo app on Redis', () => {
    let run: Running;
    let client: Client;
    beforeAll(async () => {
      run = await startDemo({ cacheUrl: store });
      client = new Client(run.url);
    });
    afterAll(() => run.stop());

    it('invalidates a fragment and a tag, clears, reports what Redis can tell, needs no table', async () => {
      await client.page('/');
      expect((await cli(['invalidate', 'card', '300', '--store', store])).stdout).toContain('Removed fragment card [300]');
      expect((await client.page('/')).timing).toMatchObject({ misses: 1 });
      expect((await cli(['invalidate-tag', 'post-titles'], { env: { CACHE_URL: store } })).code).toBe(0);
      expect((await client.page('/')).timing).toMatchObject({ misses: 1 });
      const stats = await cli(['stats', '--store', store]);
      expect(stats.code).toBe(0);
      expect(stats.stdout).toContain('entries    unknown (a redis store cannot tell)');
      expect((await cli(['create-table', '--store', store])).stdout).toBe('Nothing to do: a redis store needs no table.\n');
      expect((await cli(['clear', '--store', store])).code).toBe(0);
      expect((await client.page('/')).timing).toMatchObject({ hits: 0 });
    });
  });
}
