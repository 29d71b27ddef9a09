/** The demo's Nunjucks environment: `<% %>` block tags, the cache tag, and a few display filters. */
import nunjucks from 'nunjucks';
import type { Cache } from '../src/index.js';
import { createEnvironment } from '../src/nunjucks.js';

const dateFormat = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
const timeFormat = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZone: 'UTC' });

export function createTemplates(templatesDir: string, cache: Cache): nunjucks.Environment {
  const env = createEnvironment(templatesDir, { cache });
  env.addFilter('date', (ms: number) => dateFormat.format(new Date(ms)));
  env.addFilter('time', (ms: number) => `${timeFormat.format(new Date(ms))} UTC`);
  env.addFilter('ms', (ms: number | null | undefined) => {
    if (ms === null || ms === undefined) return '—';
    return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
  });
  env.addFilter('bytes', (bytes: number | null | undefined) => (bytes === null || bytes === undefined ? '—' : formatBytes(bytes)));
  env.addFilter('percent', (ratio: number | null | undefined) => (ratio === null || ratio === undefined ? '—' : `${(ratio * 100).toFixed(1)} %`));
  // Blank-line-separated text → escaped paragraphs.
  env.addFilter('paragraphs', (text: string) => {
    const escape = env.getFilter('escape') as (value: string) => unknown;
    const html = String(text)
      .split(/\n\s*\n/)
      .map((para) => para.trim())
      .filter(Boolean)
      .map((para) => `<p>${String(escape(para))}</p>`)
      .join('\n');
    return new nunjucks.runtime.SafeString(html);
  });
  return env;
}

/** 1536 → "1.5 KiB": sizes as the dashboard shows them. */
function formatBytes(bytes: number): string {
  const power = bytes < 1024 ? 0 : Math.min(3, Math.floor(Math.log2(bytes) / 10));
  return power === 0 ? `${bytes} B` : `${(bytes / 1024 ** power).toFixed(1)} ${['B', 'KiB', 'MiB', 'GiB'][power]}`;
}
