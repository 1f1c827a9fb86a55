/**
 * The benchmark's results: tables of figures, each row with two values side by side (usually
 * the reference registry and Berth; for the worker table one and two processes), their ratio
 * and the target, printed as text and written to bench/results/latest.json and
 * bench/results/latest.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { REFERENCE_BIN } from './servers.js';

export interface Row {
  label: string;
  unit: string;
  /** Which way is better, so that "target met" can be judged. */
  better: 'higher' | 'lower';
  /** The first value column (the reference, unless the table says otherwise); NaN when not measured. */
  reference: number;
  /** The second value column (Berth). */
  berth: number;
  /** For ratio targets: second/first must reach this (higher) or stay below it (lower). */
  targetRatio?: number;
  /** For absolute targets on the second column's own figure. */
  targetBerth?: number;
}

export interface Table {
  title: string;
  /** Headers of the two value columns and of their ratio. */
  columns: [string, string, string];
  rows: Row[];
  notes: string[];
}

export const REF_BERTH: Table['columns'] = ['Reference', 'Berth', 'Berth/Ref'];

export interface Machine {
  cores: number;
  cpu: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  reference: string;
}

export function machine(): Machine {
  let reference = 'unknown';
  try {
    reference = execFileSync(REFERENCE_BIN, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // reported as unknown
  }
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), kernel: release(), node: process.version, reference };
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function ratio(r: Row): number {
  // A ratio of two ratios says nothing; such rows carry their own target instead.
  return r.reference === 0 || r.unit === 'x' ? NaN : r.berth / r.reference;
}

function target(r: Row): { text: string; met?: boolean } {
  if (r.targetRatio !== undefined) {
    const x = ratio(r);
    return r.better === 'higher' ? { text: `>= ${r.targetRatio}x`, met: x >= r.targetRatio } : { text: `<= ${r.targetRatio}x`, met: x <= r.targetRatio };
  }
  if (r.targetBerth !== undefined) {
    const unit = r.unit === 'x' ? 'x' : ` ${r.unit}`;
    return r.better === 'higher' ? { text: `>= ${r.targetBerth}${unit}`, met: r.berth >= r.targetBerth } : { text: `< ${r.targetBerth}${unit}`, met: r.berth < r.targetBerth };
  }
  return { text: '' };
}

function cells(r: Row): string[] {
  const t = target(r);
  const x = ratio(r);
  const unit = r.unit === 'x' ? 'ratio' : r.unit;
  return [`${r.label} (${unit}, ${r.better} is better)`, fmt(r.reference), fmt(r.berth), Number.isFinite(x) && r.unit !== 'x' ? `${fmt(x)}x` : '-', t.text, t.met === undefined ? '' : t.met ? 'yes' : 'NO'];
}

const head = (t: Table) => ['Workload', t.columns[0], t.columns[1], t.columns[2], 'Target', 'Met'];

export function textTable(t: Table): string {
  const all = [head(t), ...t.rows.map(cells)];
  const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const lines = all.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return [`== ${t.title}`, ...lines, ...t.notes.map((n) => `- ${n}`)].join('\n');
}

function markdownTable(t: Table): string[] {
  const h = head(t);
  return [
    `### ${t.title}`,
    '',
    `| ${h.join(' | ')} |`,
    `|${h.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...t.rows.map((r) => `| ${cells(r).join(' | ')} |`),
    '',
    ...t.notes.map((n) => `- ${n}`),
    '',
  ];
}

export function markdown(tables: Table[], m: Machine, date: string, notes: string[]): string {
  return [
    `Benchmark run ${date} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}; reference: ${m.reference}.`,
    '',
    ...notes.map((n) => `- ${n}`),
    '',
    ...tables.flatMap(markdownTable),
  ].join('\n');
}

export function writeResults(tables: Table[], m: Machine, date: string, notes: string[], extra: Record<string, unknown>): string {
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const json = {
    date,
    machine: m,
    notes,
    tables: tables.map((t) => ({ ...t, rows: t.rows.map((r) => ({ ...r, ratio: ratio(r), met: target(r).met ?? null })) })),
    ...extra,
  };
  // NaN (not measured) becomes null in JSON.
  writeFileSync(`${dir}latest.json`, JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  writeFileSync(`${dir}latest.md`, markdown(tables, m, date, notes));
  return dir;
}
