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
    ...yTicks(max).map((value) => {
      const at = top + plotH - y(value);
      return (
        (value === 0 ? '' : `<line x1="${left}" y1="${at.toFixed(1)}" x2="${width - 8}" y2="${at.toFixed(1)}" stroke="#ddd" stroke-dasharray="4 4"/>`) +
        `<text x="${left - 4}" y="${(at + 4).toFixed(1)}" text-anchor="end" font-size="11">${value}</text>`
      );
    }),
    ...xTicks(series.length).map((i) => {
      const bucket = series[i] as Bucket;
      const x = left + i * step;
      const anchor = i === 0 ? 'start' : 'middle';
      return `<line x1="${x.toFixed(1)}" y1="${top + plotH}" x2="${x.toFixed(1)}" y2="${top + plotH + 4}" stroke="#999"/><text x="${x.toFixed(1)}" y="${height - 4}" text-anchor="${anchor}" font-size="11">${clock(bucket.start).slice(0, 5)}</text>`;
    }),
    `<text x="${width - 8}" y="${height - 4}" text-anchor="end" font-size="11">now</text>`,
    ...bars,
    `</svg>`,
  ].join('');
}

/** The scale, in HTML under the chart: readable at any width (the SVG's own text shrinks with it on a phone). */
export function chartAxis(series: readonly Bucket[], options: ChartOptions): string {
  const max = Math.max(1, ...series.map((b) => b.hits + b.misses));
  const times = xTicks(series.length).map((i) => `<span>${clock((series[i] as Bucket).start).slice(0, 5)}</span>`);
  return (
    `<div class="axis" aria-hidden="true">${times.join('')}<span>now</span></div>` +
    `<p class="legend">Bars: lookups per ${Math.round(options.bucketMs / 1000)} s; scale 0 to ${max} (dashed lines at ${yTicks(max).filter((v) => v > 0).join(' and ')}); times in UTC.</p>`
  );
}

/** 0, a round middle value, and the maximum. */
function yTicks(max: number): number[] {
  if (max < 2) return [0, max];
  return [0, Math.round(max / 2), max];
}

/** A time label every quarter of the series (bar indexes). */
function xTicks(length: number): number[] {
  if (length < 4) return length === 0 ? [] : [0];
  return [0, 1, 2, 3].map((q) => Math.floor((q * length) / 4));
}

export const CHART_COLOURS = { hit: HIT, miss: MISS };
