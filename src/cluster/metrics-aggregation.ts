/**
 * One metrics view for `berth serve --workers N`. Each worker counts in its own registry
 * (src/ops/metrics.ts); whichever worker answers a scrape asks the primary, which asks every
 * worker that has announced its registry for its values over the cluster IPC channel and answers
 * with their aggregate (prom-client's `AggregatorRegistry.aggregate`): counters and histograms
 * summed, gauges read from the shared database taken once (their `max` aggregator).
 *
 * Only workers that announced themselves are asked, so a worker still starting (or restarting
 * after a crash) does not stall the scrape; a worker that does not answer within
 * WORKER_TIMEOUT_MS is left out of that scrape (and the rest still answer). The primary loads
 * prom-client only on the first scrape, so a primary nobody scrapes stays as small as before.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Registry } from 'prom-client';

/** One worker's values, as `Registry.getMetricsAsJSON` gives them. */
type MetricJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];

const READY = 'berth:metrics-ready';
const REQUEST = 'berth:metrics-request';
const RESULT = 'berth:metrics-result';
const COLLECT = 'berth:metrics-collect';
const COLLECTED = 'berth:metrics-collected';
/** How long the primary waits for one worker's values. */
const WORKER_TIMEOUT_MS = 4000;
/** A scrape waits this long for the primary. */
const TIMEOUT_MS = 8000;

interface Message {
  type: string;
  id?: number;
  text?: string;
  error?: string;
  metrics?: MetricJson[];
}

/** In the primary: answers workers' requests for the aggregated exposition. */
export function serveAggregatedMetrics(): void {
  const ready = new Set<Worker>();
  const waiting = new Map<string, (metrics: MetricJson[] | undefined) => void>();
  let next = 0;
  const collect = (w: Worker): Promise<MetricJson[] | undefined> =>
    new Promise((resolve) => {
      const id = next++;
      const key = `${w.id}:${id}`;
      const timer = setTimeout(() => {
        waiting.delete(key);
        resolve(undefined);
      }, WORKER_TIMEOUT_MS);
      waiting.set(key, (m) => {
        clearTimeout(timer);
        waiting.delete(key);
        resolve(m);
      });
      w.send({ type: COLLECT, id } satisfies Message);
    });
  const aggregate = async (): Promise<string> => {
    const { AggregatorRegistry } = await import('prom-client');
    const all = await Promise.all([...ready].filter((w) => w.isConnected()).map(collect));
    return AggregatorRegistry.aggregate(all.filter((m): m is MetricJson[] => m !== undefined)).metrics();
  };
  cluster.on('exit', (w) => ready.delete(w));
  cluster.on('message', (worker, message: Message) => {
    if (message?.type === READY) ready.add(worker);
    else if (message?.type === COLLECTED && typeof message.id === 'number') waiting.get(`${worker.id}:${message.id}`)?.(message.metrics);
    else if (message?.type === REQUEST && typeof message.id === 'number') {
      const id = message.id;
      aggregate().then(
        (text) => worker.isConnected() && worker.send({ type: RESULT, id, text } satisfies Message),
        (err: unknown) => worker.isConnected() && worker.send({ type: RESULT, id, error: (err as Error).message } satisfies Message),
      );
    }
  });
}

/**
 * In a worker: answers the primary's collection requests with `registry`'s values, announces
 * itself, and returns the function that fetches the aggregate of every worker from the primary.
 */
export function workerExposition(registry: Registry): () => Promise<string> {
  let next = 0;
  const pending = new Map<number, { resolve: (s: string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  process.on('message', (message: Message) => {
    if (message?.type === COLLECT) {
      registry.getMetricsAsJSON().then(
        (metrics) => process.send!({ type: COLLECTED, id: message.id, metrics } satisfies Message),
        () => process.send!({ type: COLLECTED, id: message.id } satisfies Message),
      );
      return;
    }
    if (message?.type !== RESULT || typeof message.id !== 'number') return;
    const p = pending.get(message.id);
    if (!p) return;
    pending.delete(message.id);
    clearTimeout(p.timer);
    if (message.error !== undefined) p.reject(new Error(message.error));
    else p.resolve(message.text ?? '');
  });
  process.send!({ type: READY } satisfies Message);
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('the primary did not answer the metrics request in time'));
      }, TIMEOUT_MS);
      timer.unref();
      pending.set(id, { resolve, reject, timer });
      process.send!({ type: REQUEST, id } satisfies Message);
    });
}
