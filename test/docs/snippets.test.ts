/**
 * The docs pages and the code they show cannot drift apart:
 * - a block marked `<!-- example: path#region -->` equals that region of a tested file;
 * - a block marked `<!-- output: name -->` is compared with real output by some example test;
 * - a block marked `<!-- signature: Name#member -->` equals the declaration printed from src/;
 * - every block of our own code (ts, js, njk, html, json) carries one of these markers;
 * - relative links point at files that exist (pages colleagues have yet to write are reported).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKED_LANGS, ROOT, TESTED_PAGES, blocksOf, readPage, sourceFor } from './support/docs.js';

const pages = TESTED_PAGES.filter((page) => existsSync(join(ROOT, 'docs', page)));

/** Pages written by other engineers; a link to one that does not exist yet is reported, not failed. */
const COLLEAGUE_PAGES = new Set(['http.md', 'reliability.md', 'scaling.md', 'cli.md', 'demo.md', 'benchmarks.md']);
const warned = new Set<string>();

describe('docs pages', () => {
  it('include every page the docs index lists as ours', () => {
    expect(pages).toEqual([...TESTED_PAGES]);
  });

  describe.each(pages)('%s', (page) => {
    const blocks = blocksOf(page);

    it('marks every block of our own code as an example, an output or a signature', () => {
      const unmarked = blocks.filter((b) => CHECKED_LANGS.has(b.lang) && b.marker === undefined && !isSignature(page, b.line));
      expect(unmarked.map((b) => `${page}:${b.line} (${b.lang})`)).toEqual([]);
    });

    const examples = blocks.filter((b) => b.marker?.kind === 'example');
    if (examples.length > 0) {
      it.each(examples.map((b) => [`${b.marker?.ref} (line ${b.line})`, b] as const))('shows %s exactly', (_label, block) => {
        expect(block.text).toBe(sourceFor(block.marker?.ref ?? ''));
      });
    }

    const outputs = blocks.filter((b) => b.marker?.kind === 'output');
    if (outputs.length > 0) {
      it('has every output checked by a test', () => {
        const tests = testSources();
        const unchecked = outputs.map((b) => b.marker?.ref ?? '').filter((name) => !tests.some((source) => source.includes(`'${name}'`)));
        expect(unchecked).toEqual([]);
      });
    }

    it('links only to files that exist', () => {
      const text = readPage(page);
      const missing: string[] = [];
      for (const match of text.matchAll(/\]\(([^)#\s]+)(#[^)\s]*)?\)/g)) {
        const target = match[1] as string;
        if (/^[a-z]+:/i.test(target)) continue;
        const path = join(ROOT, 'docs', dirname(page), target);
        if (existsSync(path)) continue;
        if (COLLEAGUE_PAGES.has(target)) {
          if (!warned.has(target)) console.warn(`[docs] links to ${target}, which its owner has not written yet`);
          warned.add(target);
          continue;
        }
        missing.push(target);
      }
      expect(missing).toEqual([]);
    });

    it('links to headings that exist', () => {
      const text = readPage(page);
      const broken: string[] = [];
      for (const match of text.matchAll(/\]\(([^)#\s]*)#([^)\s]+)\)/g)) {
        const target = match[1] === '' ? page : (match[1] as string);
        const file = join(ROOT, 'docs', target);
        if (!existsSync(file) || !target.endsWith('.md')) continue;
        if (!anchorsOf(readFileSync(file, 'utf8')).has(match[2] as string)) broken.push(`${target}#${match[2]}`);
      }
      expect(broken).toEqual([]);
    });
  });
});

/** Signature blocks are checked by api.test.ts; here they only need their marker. */
function isSignature(page: string, line: number): boolean {
  const lines = readPage(page).split('\n');
  return /^<!--\s*signature:/.test((lines[line - 2] ?? '').trim());
}

let sources: string[] | undefined;
function testSources(): string[] {
  if (sources) return sources;
  // Every test file under test/: an output may be checked next to the behaviour it shows.
  const dir = join(ROOT, 'test');
  sources = (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => readFileSync(join(dir, f), 'utf8'));
  return sources;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, duplicates numbered. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) inFence = !inFence;
    if (inFence) continue;
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const base = (heading[1] as string)
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = counts.get(base) ?? 0;
    counts.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}
