/** The dashboard's chart: hits and misses per time bucket as stacked bars, in server-rendered SVG. */
import type { Bucket } from './activity.js';

export interface ChartOptions {
  width?: number;
  height?: number;
  bucketMs: number;
}

const HIT = '#2f855a';
const MISS = '#dd6b20';

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function clock(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}

/** SVG markup; every value in it is a number or escaped, so it may be output unescaped. */
export function hitMissChart(series: readonly Bucket[], options: ChartOptions): string {
  const width = options.width ?? 960;
  const height = options.height ?? 180;
  const left = 40;
  const bottom = 20;
  const top = 8;
  const plotW = width - left - 8;
  const plotH = height - bottom - top;
  const max = Math.max(1, ...series.map((b) => b.hits + b.misses));
  const step = plotW / Math.max(1, series.length);
  const barW = Math.max(1, step - 2);
  const y = (value: number) => (value / max) * plotH;
  const bars = series.map((bucket, i) => {
    const x = left + i * step + 1;
    const hitH = y(bucket.hits);
    const missH = y(bucket.misses);
    const base = top + plotH;
    const label = `${clock(bucket.start)} UTC: ${bucket.hits} hits, ${bucket.misses} misses`;
    return (
      `<g><title>${escapeXml(label)}</title>` +
      (bucket.hits > 0 ? `<rect x="${x.toFixed(1)}" y="${(base - hitH).toFixed(1)}" width="${barW.toFixed(1)}" height="${hitH.toFixed(1)}" fill="${HIT}"/>` : '') +
      (bucket.misses > 0 ? `<rect x="${x.toFixed(1)}" y="${(base - hitH - missH).toFixed(1)}" width="${barW.toFixed(1)}" height="${missH.toFixed(1)}" fill="${MISS}"/>` : '') +
      `</g>`
    );
  });
  const minutes = Math.round((series.length * options.bucketMs) / 60_000);
  const total = series.reduce((sum, b) => sum + b.hits + b.misses, 0);
  const summary = `Cache lookups over the last ${minutes} minutes, ${Math.round(options.bucketMs / 1000)} s per bar: ${total} in all, at most ${max} in one bar.`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(summary)}">`,
    `<line x1="${left}" y1="${top + plotH}" x2="${width - 8}" y2="${top + plotH}" stroke="#999"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#999"/>`,
    `<text x="${left - 4}" y="${top + 10}" text-anchor="end" font-size="11">${max}</text>`,
    `<text x="${left - 4}" y="${top + plotH}" text-anchor="end" font-size="11">0</text>`,
    `<text x="${left}" y="${height - 4}" font-size="11">−${minutes} min</text>`,
    `<text x="${width - 8}" y="${height - 4}" text-anchor="end" font-size="11">now</text>`,
    ...bars,
    `</svg>`,
  ].join('');
}

export const CHART_COLOURS = { hit: HIT, miss: MISS };
