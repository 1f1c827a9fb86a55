/**
 * The benchmark's results: one row per figure with both registries' values, the ratio
 * Berth/reference and the issue's target, printed as a table and written to
 * bench/results/latest.json and bench/results/latest.md.
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
  reference: number;
  berth: number;
  /** For ratio targets: Berth/reference must reach this (higher) or stay below it (lower). */
  targetRatio?: number;
  /** For absolute targets on Berth's own figure. */
  targetBerth?: number;
}

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

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function ratio(r: Row): number {
  return r.reference === 0 ? NaN : r.berth / r.reference;
}

function target(r: Row): { text: string; met?: boolean } {
  if (r.targetRatio !== undefined) {
    const x = ratio(r);
    return r.better === 'higher' ? { text: `>= ${r.targetRatio}x`, met: x >= r.targetRatio } : { text: `<= ${r.targetRatio}x`, met: x <= r.targetRatio };
  }
  if (r.targetBerth !== undefined) {
    return r.better === 'higher' ? { text: `>= ${r.targetBerth} ${r.unit}`, met: r.berth >= r.targetBerth } : { text: `< ${r.targetBerth} ${r.unit}`, met: r.berth < r.targetBerth };
  }
  return { text: '' };
}

function cells(r: Row): string[] {
  const t = target(r);
  return [`${r.label} (${r.unit}, ${r.better} is better)`, fmt(r.reference), fmt(r.berth), `${fmt(ratio(r))}x`, t.text, t.met === undefined ? '' : t.met ? 'yes' : 'NO'];
}

const HEAD = ['Workload', 'Reference', 'Berth', 'Berth/Ref', 'Target', 'Met'];

export function textTable(rows: Row[]): string {
  const all = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r, k) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ') + (k === 0 ? '\n' + widths.map((w) => '-'.repeat(w)).join('  ') : '')).join('\n');
}

export function markdown(rows: Row[], m: Machine, date: string, notes: string[]): string {
  const lines = [
    `Benchmark run ${date} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}; reference: ${m.reference}.`,
    '',
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((r) => `| ${cells(r).join(' | ')} |`),
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ];
  return lines.join('\n');
}

export function writeResults(rows: Row[], m: Machine, date: string, notes: string[], extra: Record<string, unknown>): string {
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const json = { date, machine: m, rows: rows.map((r) => ({ ...r, ratio: ratio(r), met: target(r).met ?? null })), notes, ...extra };
  writeFileSync(`${dir}latest.json`, JSON.stringify(json, null, 2) + '\n');
  writeFileSync(`${dir}latest.md`, markdown(rows, m, date, notes));
  return dir;
}
