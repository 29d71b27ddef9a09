/**
 * docs/dependencies.md lists exactly the packages of package.json, and the files it names under
 * "Used in" import them (or, for tools, the scripts call them).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, readPage } from './support/docs.js';

interface Row {
  name: string;
  range: string;
  usedIn: string;
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  peerDependencies: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
};

function rows(): Row[] {
  const result: Row[] = [];
  for (const line of readPage('dependencies.md').split('\n')) {
    const m = /^\| `([^`]+)` (\S+) \| ([^|]*) \|/.exec(line);
    if (m) result.push({ name: m[1] as string, range: m[2] as string, usedIn: (m[3] as string).trim() });
  }
  return result;
}

describe('docs/dependencies.md', () => {
  const listed = rows();

  it('lists every package of package.json once, with its version range', () => {
    const declared = new Map<string, string>();
    // nunjucks is both a peer and a dev dependency (for the tests); it is listed once, as the peer.
    for (const group of [pkg.devDependencies, pkg.dependencies, pkg.peerDependencies]) for (const [name, range] of Object.entries(group)) declared.set(name, range);
    expect(new Map(listed.map((r) => [r.name, r.range]))).toEqual(declared);
    expect(listed.length).toBe(declared.size);
  });

  it.each(listed.filter((r) => r.usedIn.includes('`')).map((r) => [r.name, r] as const))('%s is used where the page says', (name, row) => {
    const places = [...row.usedIn.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
    for (const place of places) {
      if (place === 'package.json') continue;
      if (place === 'tsc' || place === 'vitest' || place === 'tsx' || place === 'eslint') {
        expect(Object.values(pkg.scripts).join('\n')).toContain(place);
        continue;
      }
      const file = join(ROOT, place);
      expect(existsSync(file), `${place} exists`).toBe(true);
      const text = readFileSync(file, 'utf8');
      const escaped = name.replace(/[/.]/g, (c) => `\\${c}`);
      expect(new RegExp(`from '${escaped}'|import\\('${escaped}'\\)`).test(text), `${place} imports ${name}`).toBe(true);
    }
  });
});
