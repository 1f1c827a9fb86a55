/**
 * CPU seconds of one phase, per process and, for a Node process, per kind of thread, read from
 * /proc (utime + stime, USER_HZ 100). Node 20 names every thread "node", so threads are told
 * apart by when they were made: the V8 platform's (GC helper and compiler threads, one of them
 * the delayed-task scheduler) right after the main thread at start, the libuv pool (file I/O,
 * fsync) together later on first use, and a thread that appears during the phase (the
 * pull-through cache's hashing thread) is counted as "new". A thread that ends during the phase
 * is polled while it runs (every POLL_MS), so its last few ms may be missed; the process total
 * comes from /proc/<pid>/stat and includes every thread, ended or not.
 */
import { readdirSync, readFileSync } from 'node:fs';

const POLL_MS = 20;
/** Threads V8's platform starts next to the main thread (4 workers and the delayed-task scheduler). */
const V8_PLATFORM_THREADS = 5;
const LIBUV_THREADS = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

export type ThreadKind = 'main' | 'v8 platform (GC)' | 'libuv pool' | 'new (hash thread)' | 'other';

function ticksOf(path: string): number | undefined {
  try {
    const stat = readFileSync(path, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return undefined;
  }
}

/** CPU seconds used so far by the whole process `pid` (every thread, ended ones included). */
export function processCpuSeconds(pid: number): number {
  return (ticksOf(`/proc/${pid}/stat`) ?? 0) / 100;
}

/** CPU seconds used so far by the main thread of `pid` (the one that runs JavaScript, and the limit of a busy server). */
export function mainThreadCpuSeconds(pid: number): number {
  return (ticksOf(`/proc/${pid}/task/${pid}/stat`) ?? 0) / 100;
}

function tids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number).sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/**
 * Polls the threads of `pid` from `start` to `stop`; `stop` returns CPU seconds per kind and the
 * total. With `poll: false` the threads are read at the start and the stop only (a thread that
 * ends between is missed): reading every thread's stat every 20 ms during a request-rate phase
 * shares the cores with the load it measures.
 */
export function recordThreads(pid: number, opts: { poll?: boolean } = {}): { stop: () => { total: number; byKind: Record<ThreadKind, number> } } {
  const atStart = tids(pid);
  const others = atStart.filter((t) => t !== pid);
  const kindOf = new Map<number, ThreadKind>();
  for (const [i, t] of others.entries()) kindOf.set(t, i < V8_PLATFORM_THREADS ? 'v8 platform (GC)' : i >= others.length - LIBUV_THREADS ? 'libuv pool' : 'other');
  kindOf.set(pid, 'main');
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const poll = () => {
    for (const t of tids(pid)) {
      const ticks = ticksOf(`/proc/${pid}/task/${t}/stat`);
      if (ticks === undefined) continue;
      if (!first.has(t)) first.set(t, kindOf.has(t) ? ticks : 0);
      last.set(t, ticks);
    }
  };
  poll();
  const total0 = processCpuSeconds(pid);
  const timer = opts.poll === false ? undefined : setInterval(poll, POLL_MS);
  return {
    stop: () => {
      clearInterval(timer);
      poll();
      const byKind: Record<ThreadKind, number> = { main: 0, 'v8 platform (GC)': 0, 'libuv pool': 0, 'new (hash thread)': 0, other: 0 };
      for (const [t, ticks] of last) byKind[kindOf.get(t) ?? 'new (hash thread)'] += (ticks - first.get(t)!) / 100;
      return { total: processCpuSeconds(pid) - total0, byKind };
    },
  };
}
