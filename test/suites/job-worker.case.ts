/**
 * The job worker over a real metadata store: retries with backoff, timeouts, two workers
 * racing over one queue, and a worker process killed mid-job whose job another worker then
 * finishes. Run against every metadata dialect.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { JobQueue } from '../../src/jobs/queue.js';
import { BurstYield } from '../../src/jobs/request-pressure.js';
import { JobWorker, backoffDelay, type JobHandler } from '../../src/jobs/worker.js';
import type { MetadataStore } from '../../src/metadata/store.js';
import type { StoreHarness } from '../helpers/metadata.js';

const silent = pino({ level: 'silent' });

/**
 * A worker process for the crash test: claims one `work` job with a short lease, says so on
 * stdout and hangs until the test kills it with SIGKILL (a crash: no cleanup runs). Inline,
 * so the test runner never mistakes it for a test file.
 */
function hangingWorker(driver: string, where: string, leaseMs: number): string[] {
  const mod = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
  const code = `
    import { pino } from 'pino';
    import { JobWorker } from ${mod('../../src/jobs/worker.js')};
    import { openPostgres } from ${mod('../../src/metadata/postgres.js')};
    import { openSqlite } from ${mod('../../src/metadata/sqlite.js')};
    import { postgresConfig } from ${mod('../helpers/metadata.js')};
    const store = ${JSON.stringify(driver)} === 'postgres' ? openPostgres(postgresConfig(${JSON.stringify(where)})) : openSqlite(${JSON.stringify(where)});
    const hang = async () => { process.stdout.write('started\\n'); await new Promise(() => {}); };
    const worker = new JobWorker(store.jobs, new Map([['work', hang]]), { id: 'doomed', concurrency: 1, pollMs: 20, leaseMs: ${leaseMs}, logger: pino({ level: 'silent' }) });
    await worker.run(new AbortController().signal);
  `;
  return ['--input-type=module', '-e', code];
}

function worker(store: MetadataStore, handlers: Record<string, JobHandler>, opts: { id: string; leaseMs?: number; backoffMs?: number; concurrency?: number }): JobWorker {
  return new JobWorker(store.jobs, new Map(Object.entries(handlers)), { id: opts.id, concurrency: opts.concurrency ?? 2, pollMs: 20, leaseMs: opts.leaseMs ?? 10_000, backoffMs: opts.backoffMs ?? 10, logger: silent });
}

async function until(cond: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

/** Runs `w` until job `id` reaches `status`, then stops it and waits for it to finish. */
async function runUntil(w: JobWorker, queue: JobQueue, id: number, status: 'succeeded' | 'failed'): Promise<void> {
  const stop = new AbortController();
  const running = w.run(stop.signal);
  try {
    await until(async () => (await queue.get(id))?.status === status);
  } finally {
    stop.abort();
    await running;
  }
}

export function jobWorkerSuite(name: string, open: () => Promise<StoreHarness>, skip?: string): void {
  describe(`job worker: ${name}`, { skip }, () => {
    let h: StoreHarness;
    let queue: JobQueue;
    before(async () => {
      h = await open();
      queue = new JobQueue(h.store.jobs);
    });
    after(async () => {
      await h?.close();
    });
    afterEach(async () => {
      for (const j of await queue.list({ limit: 1000 })) await h.store.jobs.delete(j.id);
    });

    it('doubles the backoff per attempt up to a ceiling', () => {
      assert.deepEqual([1, 2, 3, 4, 10].map((a) => backoffDelay(a, 100, 1000)), [100, 200, 400, 800, 1000]);
    });

    it('retries a failing job after a backoff and records the error', async () => {
      const runs: number[] = [];
      const w = worker(h.store, {
        flaky: async () => {
          runs.push(Date.now());
          if (runs.length < 3) throw new Error(`failure ${runs.length}`);
        },
      }, { id: 'w', backoffMs: 100 });
      const id = await queue.enqueue('flaky', {}, { maxAttempts: 5 });
      await runUntil(w, queue, id, 'succeeded');
      const job = (await queue.get(id))!;
      assert.equal(job.attempts, 3);
      assert.equal(job.lastError, 'failure 2');
      assert.ok(runs[1]! - runs[0]! >= 100, 'first retry waits the base backoff');
      assert.ok(runs[2]! - runs[1]! >= 200, 'second retry waits twice as long');
    });

    it('holds jobs back while requests saturate the loop, for at most yieldMs in a row, then runs them alongside until the pressure ends', async () => {
      const pressure = { windowMs: 20, busy: true, saturated() { return this.busy; } };
      const ran = new Map<string, number>();
      const w = new JobWorker(h.store.jobs, new Map([['scan', async (p: unknown) => void ran.set((p as { name: string }).name, Date.now())]]), {
        id: 'w', concurrency: 2, pollMs: 20, leaseMs: 10_000, logger: silent, burst: new BurstYield(pressure, 600),
      });
      const stop = new AbortController();
      const running = w.run(stop.signal);
      try {
        const start = Date.now();
        // A burst: nothing runs while it lasts, and the job runs as soon as it ends.
        await queue.enqueue('scan', { name: 'first' });
        await sleep(300);
        assert.equal(ran.size, 0, 'a job ran while requests saturated the loop');
        pressure.busy = false;
        const released = Date.now();
        await until(async () => ran.has('first'));
        assert.ok(ran.get('first')! - released < 500, 'the job waited on after the pressure ended');
        // Saturation that outlasts yieldMs: the job waits about yieldMs, and later ones run at once.
        pressure.busy = true;
        const saturatedAt = Date.now();
        await queue.enqueue('scan', { name: 'second' });
        await until(async () => ran.has('second'));
        const waited = ran.get('second')! - saturatedAt;
        assert.ok(waited >= 550 && waited < 3000, `the job waited ${waited} ms, not about yieldMs`);
        const third = Date.now();
        await queue.enqueue('scan', { name: 'third' });
        await until(async () => ran.has('third'));
        assert.ok(ran.get('third')! - third < 500, 'a job waited again before the loop had a window of room');
        assert.ok(Date.now() - start < 10_000);
      } finally {
        stop.abort();
        await running;
      }
    });

    it('fails a job for good once its attempts are spent', async () => {
      const w = worker(h.store, { bad: async () => Promise.reject(new Error('always')) }, { id: 'w' });
      const id = await queue.enqueue('bad', {}, { maxAttempts: 2 });
      await runUntil(w, queue, id, 'failed');
      assert.equal((await queue.get(id))?.attempts, 2);
      assert.deepEqual((await queue.list({ status: 'failed' })).map((j) => j.id), [id]);
    });

    it('aborts a job that outlives its lease and runs it again', async () => {
      let calls = 0;
      const w = worker(h.store, {
        slow: async (_p, { signal }) => {
          calls++;
          if (calls === 1) await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
        },
      }, { id: 'w', leaseMs: 200 });
      const id = await queue.enqueue('slow', {}, { maxAttempts: 3 });
      await runUntil(w, queue, id, 'succeeded');
      const job = (await queue.get(id))!;
      assert.equal(job.attempts, 2);
      assert.match(job.lastError ?? '', /timed out after 180 ms/);
    });

    it('runs each job exactly once when two workers on separate connections race', async () => {
      const other = await h.another();
      const seen = new Map<number, string[]>();
      const handler = (who: string): JobHandler => async (payload) => {
        const n = payload as number;
        seen.set(n, [...(seen.get(n) ?? []), who]);
        await sleep(2);
      };
      const ids: number[] = [];
      for (let i = 0; i < 60; i++) ids.push(await queue.enqueue('race', i, { maxAttempts: 1 }));
      const stop = new AbortController();
      const a = worker(h.store, { race: handler('a') }, { id: 'a', concurrency: 4 }).run(stop.signal);
      const b = worker(other, { race: handler('b') }, { id: 'b', concurrency: 4 }).run(stop.signal);
      await until(async () => (await queue.list({ status: 'succeeded', limit: 1000 })).length === 60);
      stop.abort();
      await Promise.all([a, b]);
      assert.equal(seen.size, 60);
      for (const [n, who] of seen) assert.equal(who.length, 1, `job ${n} ran ${who.length} times`);
      const byWorker = new Set([...seen.values()].flat());
      assert.ok(byWorker.size >= 1);
    });

    it('retries the job of a worker process that was killed mid-run', async () => {
      const id = await queue.enqueue('work', { important: true }, { maxAttempts: 3 });
      const child = spawn(process.execPath, hangingWorker(h.location.driver, h.location.where, 500), { stdio: ['ignore', 'pipe', 'inherit'], cwd: fileURLToPath(new URL('../../../', import.meta.url)) });
      try {
        let out = '';
        child.stdout.setEncoding('utf8');
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (d: string) => {
            out += d;
            if (out.includes('started')) resolve();
          });
          child.once('exit', (code) => reject(new Error(`worker process exited early (${code})`)));
        });
        assert.equal((await queue.get(id))?.lockedBy, 'doomed');
      } finally {
        child.kill('SIGKILL');
        if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
      }
      let payload: unknown;
      const w = worker(h.store, { work: async (p) => void (payload = p) }, { id: 'survivor' });
      await runUntil(w, queue, id, 'succeeded');
      assert.deepEqual(payload, { important: true });
      const job = (await queue.get(id))!;
      assert.equal(job.attempts, 2);
      assert.equal(job.lockedBy, null);
    });
  });
}
