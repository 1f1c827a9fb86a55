#!/usr/bin/env node
// Summarises a V8 .cpuprofile (from `node --cpu-prof`) as text: the share of samples spent in
// each function itself (self) and in each function with everything it called (total), top N.
// Usage: node scripts/cpu-profile-summary.mjs FILE.cpuprofile [N] [--last=SECONDS] [--units=COUNT]
//   --last:  only the samples of the profile's last SECONDS (the load, not the set-up before it)
//   --units: show µs per unit (e.g. requests served in that window) instead of shares
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { last: { type: 'string' }, units: { type: 'string' } } });
const [file, topArg] = positionals;
if (!file) {
  process.stderr.write('usage: cpu-profile-summary.mjs FILE.cpuprofile [N] [--last=SECONDS] [--units=COUNT]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));
if (values.last !== undefined) {
  // Sample times are the running sum of timeDeltas (µs); keep those within the last window.
  const times = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) times.push((t += d));
  const from = profile.endTime - Number(values.last) * 1e6;
  const keep = times.findIndex((x) => x >= from);
  profile.samples = profile.samples.slice(keep < 0 ? profile.samples.length : keep);
  profile.startTime = Math.max(profile.startTime, from);
}
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const counts = new Map();
for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
const total = profile.samples.length;
const label = (n) => {
  const f = n.callFrame;
  const where = f.url ? f.url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/').replace(/^node:/, 'node:') : '';
  return `${f.functionName || '(anonymous)'} ${where}${f.url ? `:${f.lineNumber + 1}` : ''}`;
};
const self = new Map();
const inclusive = new Map();
for (const [id, c] of counts) {
  const n = byId.get(id);
  self.set(label(n), (self.get(label(n)) ?? 0) + c);
  // Each distinct frame on the stack once (recursion counted once).
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur));
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + c);
  }
}
const units = values.units === undefined ? undefined : Number(values.units);
const windowUs = profile.endTime - profile.startTime;
const pct = (c) => (units ? `${((c / total) * windowUs / units).toFixed(1).padStart(6)} µs` : `${((100 * c) / total).toFixed(1).padStart(5)}%`);
const list = (m) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([l, c]) => `${pct(c)}  ${l}`)
    .join('\n');
const ms = (profile.endTime - profile.startTime) / 1000;
process.stdout.write(`${file}: ${total} samples over ${(ms / 1000).toFixed(1)} s\n\nself:\n${list(self)}\n\ntotal (self + callees):\n${list(inclusive)}\n`);
