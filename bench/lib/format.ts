import type { Figure, Row } from './types.js';

export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return String(value);
  if (unit === 'µs') return value >= 1000 ? `${(value / 1000).toFixed(2)} ms` : `${value.toFixed(value >= 100 ? 0 : 1)} µs`;
  if (unit === 'ms') return `${value.toFixed(value >= 10 ? 1 : 2)} ms`;
  if (unit === 'req/s') return `${Math.round(value).toLocaleString('en-US')} req/s`;
  if (unit === 'B') return value >= 1024 * 1024 ? `${(value / 1024 / 1024).toFixed(1)} MiB` : `${Math.round(value).toLocaleString('en-US')} B`;
  if (unit === 'MiB') return `${value.toFixed(1)} MiB`;
  if (unit === 'µs/req') return `${Math.round(value)} µs/req`;
  return `${Number.isInteger(value) ? value : value.toFixed(2)} ${unit}`;
}

export function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return '—';
  return `${ratio >= 100 ? ratio.toFixed(0) : ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)}x`;
}

function ratioDetail(row: Row): string {
  const parts = [row.ratioMeaning, row.ratioRange && row.ratioRange[0] !== row.ratioRange[1] ? `rounds ${formatRatio(row.ratioRange[0])}–${formatRatio(row.ratioRange[1])}` : undefined].filter(Boolean);
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

const withSecondary = (value: number, unit: string, secondary: Figure[] | undefined) =>
  [formatValue(value, unit), ...(secondary ?? []).map((figure) => `${figure.label} ${formatValue(figure.value, figure.unit)}`)].join(', ');

const met = (row: Row) => (row.met === undefined ? '' : row.met ? 'yes' : 'NO');

export function cells(row: Row): string[] {
  return [
    row.label,
    withSecondary(row.value, row.unit, row.secondary),
    row.baseline ? `${row.baseline.label}: ${withSecondary(row.baseline.value, row.baseline.unit, row.baseline.secondary)}` : '',
    row.ratio === undefined ? '' : `${formatRatio(row.ratio)}${ratioDetail(row)}`,
    row.target?.text ?? '',
    met(row),
  ];
}

const HEADER = ['Row', 'Measured', 'Baseline (same run)', 'Ratio', 'Target', 'Met'];

/** A plain-text table for the terminal, with the rows' notes and the skipped rows below it. */
export function textTable(rows: readonly Row[], skipped: readonly string[]): string {
  const lines: string[][] = [HEADER];
  for (const row of rows) lines.push(cells(row));
  const widths = HEADER.map((_, c) => Math.max(...lines.map((line) => (line[c] ?? '').length)));
  const render = (line: string[]) => line.map((cell, c) => cell.padEnd(widths[c] as number)).join('  ').trimEnd();
  const out = [render(lines[0] as string[]), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const line of lines.slice(1)) out.push(render(line));
  const notes = rows.filter((row) => row.note);
  if (notes.length > 0) out.push('', 'Notes:');
  for (const row of notes) out.push(`  ${row.label}: ${row.note}`);
  if (skipped.length > 0) out.push('');
  for (const reason of skipped) out.push(`skipped: ${reason}`);
  return out.join('\n');
}

/** The same table in Markdown, for docs/benchmarks.md (notes as a list below it). */
export function markdownTable(rows: readonly Row[], skipped: readonly string[]): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|').replace(/</g, '&lt;');
  const out = [`| ${HEADER.join(' | ')} |`, `|${HEADER.map(() => '---').join('|')}|`];
  for (const row of rows) out.push(`| ${cells(row).map(escape).join(' | ')} |`);
  const notes = rows.filter((row) => row.note);
  if (notes.length > 0) out.push('');
  for (const row of notes) out.push(`- ${escape(row.label)}: ${escape(row.note as string)}`);
  for (const reason of skipped) out.push(`- Skipped: ${escape(reason)}`);
  return out.join('\n');
}
