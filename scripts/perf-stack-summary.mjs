#!/usr/bin/env node
// Turns Linux perf call stacks into CPU per request: for each row, the samples whose stack holds
// a frame containing its pattern, as µs per request. Unlike V8's --cpu-prof it sees every
// thread and the kernel's time (a blocking syscall is not counted as busy while it waits).
// Record the server started with BENCH_BERTH_NODE_ARGS="--perf-basic-prof
// --interpreted-frames-native-stack" (JavaScript frames get names), then
//   perf record -g -F 1999 -p PID -o FILE -- sleep 8
//   perf script -i FILE > STACKS
//   node scripts/perf-stack-summary.mjs --requests N [--hz 1999] NAME=STACKS... [--row label=pattern ...]
// where N is the requests served while perf recorded (rate x seconds). Several NAME=STACKS
// files give one column each (before and after); rows default to the manifest read path's.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { requests: { type: 'string', multiple: true }, row: { type: 'string', multiple: true }, hz: { type: 'string', default: '1999' } } });
const inputs = positionals.map((a) => a.split('='));
const given = (values.row ?? []).map((a) => a.split('='));
const requests = (values.requests ?? []).map(Number);
if (inputs.length === 0 || requests.length !== inputs.length) {
  process.stderr.write('usage: perf-stack-summary.mjs --requests N [--requests N ...] NAME=STACKS... [--row label=pattern ...] (one --requests per file)\n');
  process.exit(2);
}
const rows = given.length
  ? given
  : [
      ['all samples (every thread)', ''],
      ['HTTP parse to handler (parserOnHeadersComplete)', 'parserOnHeadersComplete'],
      ['Fastify request set-up (routeHandler)', 'routeHandler'],
      ['authentication hook', 'http-auth.js:54'],
      ['/v2 dispatch (registry handler)', 'routes/index.js:4'],
      ['manifest lookup and read gates (manifests.get)', 'registry/manifests.js:39'],
      ['response send, in the handler (Reply.send)', 'Reply.send'],
      ['response write at the end of the turn (sendQueued: header build + writev)', 'sendQueued'],
      ['writev syscalls (every response)', '__GI___writev'],
      ['  of which waking the client (sock_def_readable)', 'sock_def_readable'],
      ['onResponse hooks (onResFinished)', 'onResFinished'],
      ['  request log line (pino write)', 'pino/lib/proto.js:210'],
      ['  audit hook', 'auditResponse'],
      ['  audit: gathering a pull', 'gathered.js'],
      ['audit write: multi-row insert (insertRows)', 'insertRows'],
      ['SQLite statements (sqlite3_step)', 'sqlite3_step'],
      ['fdatasync (WAL, thread pool)', 'fdatasync'],
      ['garbage collection (Scavenge + MarkCompact)', 'Heap::CollectGarbage'],
      ['young-generation GC (Scavenger)', 'Scavenger'],
    ];

/** The stacks of a `perf script` output: one array of frame names per sample. */
function stacks(path) {
  const out = [];
  let cur = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) {
      if (cur.length) out.push(cur);
      cur = [];
    } else if (line[0] === '\t' || line[0] === ' ') {
      const t = line.trim();
      const space = t.indexOf(' ');
      cur.push((space < 0 ? t : t.slice(space + 1)).replace(/\+0x[0-9a-f]+/, ''));
    }
  }
  if (cur.length) out.push(cur);
  return out;
}

const hz = Number(values.hz);
const columns = inputs.map(([name, path], i) => ({ name, samples: stacks(path), requests: requests[i] }));
const pad = Math.max(...rows.map(([l]) => l.length)) + 2;
process.stdout.write(`${''.padEnd(pad)}${columns.map((c) => c.name.padStart(10)).join('')}   (µs of CPU per request)\n`);
for (const [label, pattern] of rows) {
  const cells = columns.map(({ samples, requests: n }) => {
    const hits = samples.filter((s) => pattern === '' || s.some((f) => f.includes(pattern))).length;
    return ((hits / hz / n) * 1e6).toFixed(1).padStart(10);
  });
  process.stdout.write(`${label.padEnd(pad)}${cells.join('')}\n`);
}
