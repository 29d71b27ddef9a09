/**
 * Every fenced block in README.md and docs/*.md is accounted for: it is an example copied from a
 * file the tests run (`<!-- example: path#region -->`), an output a test compares with what the
 * code printed (`<!-- output: name -->`), a signature printed from src/ (`<!-- signature: … -->`),
 * or a fragment shown on purpose without being run, with the reason (`<!-- fragment: why -->`).
 * A new block without one of these fails here. And a sample that opens a store closes it, so it
 * exits when run as a script.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Block, ROOT, parseBlocks, sourceFor } from './support/docs.js';

const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];

function blocks(page: string): Array<Block & { signature: boolean }> {
  const text = readFileSync(join(ROOT, page), 'utf8');
  const lines = text.split('\n');
  return parseBlocks(page, text).map((b) => ({ ...b, signature: /^<!--\s*signature:/.test((lines[b.line - 2] ?? '').trim()) }));
}

/** Every test file's source, where outputs are compared. */
function testSources(dir = join(ROOT, 'test'), found: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) testSources(path, found);
    else if (entry.name.endsWith('.test.ts')) found.push(readFileSync(path, 'utf8'));
  }
  return found;
}

/**
 * Opening a store that holds a connection, a file or a timer: a URL handed to createCache or
 * createStore (the memory store holds none), a store, bus or lock factory, a Keyv driver.
 */
const OPENS_STORE = /createCache\(\{[^}]*store:\s*(['"`]|process\.env)(?!memory)|createStore\(\s*['"`](?!memory)|create(SqliteStore|RedisStore|PostgresStore|RedisBus|PostgresBus|RedisLock)\(|new Keyv(Sqlite|Redis|Postgres)\(/;

describe.each(PAGES)('%s', (page) => {
  const all = blocks(page);

  it('runs, checks or explicitly marks every fenced block', () => {
    const unmarked = all.filter((b) => b.marker === undefined && !b.signature).map((b) => `${page}:${b.line} (${b.lang || 'no language'})`);
    expect(unmarked).toEqual([]);
    const fragmentsWithoutReason = all.filter((b) => b.marker?.kind === 'fragment' && b.marker.ref.length < 8).map((b) => `${page}:${b.line}`);
    expect(fragmentsWithoutReason).toEqual([]);
  });

  const examples = all.filter((b) => b.marker?.kind === 'example');
  if (examples.length > 0) {
    it('shows every example exactly as the file the tests run', () => {
      for (const block of examples) expect(block.text, `${page}:${block.line}`).toBe(sourceFor(block.marker?.ref ?? ''));
    });
  }

  const outputs = all.filter((b) => b.marker?.kind === 'output');
  if (outputs.length > 0) {
    it('has every output compared by a test', () => {
      const sources = testSources();
      const unchecked = outputs.map((b) => b.marker?.ref ?? '').filter((name) => !sources.some((source) => source.includes(`'${name}'`)));
      expect(unchecked).toEqual([]);
    });
  }

  it('closes every store a sample opens', () => {
    const leaking = all.filter((b) => !b.signature && OPENS_STORE.test(b.text) && !/\.close\(\)/.test(b.text)).map((b) => `${page}:${b.line}`);
    expect(leaking).toEqual([]);
  });
});
