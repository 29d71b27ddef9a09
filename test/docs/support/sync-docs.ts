/**
 * Rewrite the marked blocks of the docs pages from their sources, after an intended change:
 *
 *     npx tsx test/docs/support/sync-docs.ts
 *
 * `<!-- example: … -->` blocks get the region's text, `<!-- signature: … -->` blocks the
 * declaration printed from src/. Output blocks are left alone: they are what the code printed, and
 * the example tests say when they no longer match.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, sourceFor } from './docs.js';
import { signatureOf } from './signatures.js';

const pages = [join(ROOT, 'README.md'), ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f))];
for (const file of pages) {
  const page = file.slice(ROOT.length);
  if (!existsSync(file)) continue;
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: string[] = [];
  let changed = 0;
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] as string;
    out.push(line);
    const marker = /^<!--\s*(example|signature):\s*(\S+)\s*-->$/.exec(line.trim());
    const open = lines[i + 1] ?? '';
    if (!marker || !/^```/.test(open)) continue;
    let end = i + 2;
    while (end < lines.length && (lines[end] as string).trim() !== '```') end += 1;
    const text = marker[1] === 'example' ? sourceFor(marker[2] as string) : signatureOf(marker[2] as string);
    const old = lines.slice(i + 2, end).join('\n');
    if (old !== text) changed += 1;
    out.push(open, ...text.split('\n'), '```');
    i = end;
  }
  if (changed > 0) {
    writeFileSync(file, out.join('\n'));
    console.log(`${page}: ${changed} block(s) updated`);
  }
}
