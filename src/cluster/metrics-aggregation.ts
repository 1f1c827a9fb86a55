/**
 * One metrics view for `berth serve --workers N`. Each worker counts in its own registry
 * (src/ops/metrics.ts); whichever worker answers a scrape asks the primary, which asks every
 * worker for its values over the cluster IPC channel (prom-client's AggregatorRegistry) and
 * answers with their aggregate: counters and histograms summed, gauges read from the shared
 * database taken once (their `max` aggregator). The primary loads prom-client only on the first
 * scrape, so a primary nobody scrapes stays as small as before.
 */
import cluster from 'node:cluster';
import type { Registry } from 'prom-client';

const REQUEST = 'berth:metrics-request';
const RESULT = 'berth:metrics-result';
/** A scrape waits this long for the primary (which itself gives workers 5 s). */
const TIMEOUT_MS = 8000;

interface Request {
  type: typeof REQUEST;
  id: number;
}
interface Result {
  type: typeof RESULT;
  id: number;
  text?: string;
  error?: string;
}

/** In the primary: answers workers' requests for the aggregated exposition. */
export function serveAggregatedMetrics(): void {
  let aggregator: Promise<{ clusterMetrics(): Promise<string> }> | undefined;
  cluster.on('message', (worker, message: Partial<Request>) => {
    if (message?.type !== REQUEST || typeof message.id !== 'number') return;
    const id = message.id;
    aggregator ??= import('prom-client').then((p) => new p.AggregatorRegistry());
    aggregator
      .then((a) => a.clusterMetrics())
      .then(
        (text) => worker.isConnected() && worker.send({ type: RESULT, id, text } satisfies Result),
        (err: unknown) => worker.isConnected() && worker.send({ type: RESULT, id, error: (err as Error).message } satisfies Result),
      );
  });
}

/**
 * In a worker: lets the primary collect `registry`, and returns the function that fetches the
 * aggregate of every worker from the primary.
 */
export async function workerExposition(registry: Registry): Promise<() => Promise<string>> {
  const { AggregatorRegistry } = await import('prom-client');
  new AggregatorRegistry(); // installs prom-client's answer to the primary's collection requests
  AggregatorRegistry.setRegistries([registry]);
  let next = 0;
  const pending = new Map<number, { resolve: (s: string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  process.on('message', (message: Partial<Result>) => {
    if (message?.type !== RESULT || typeof message.id !== 'number') return;
    const p = pending.get(message.id);
    if (!p) return;
    pending.delete(message.id);
    clearTimeout(p.timer);
    if (message.error !== undefined) p.reject(new Error(message.error));
    else p.resolve(message.text ?? '');
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('the primary did not answer the metrics request in time'));
      }, TIMEOUT_MS);
      timer.unref();
      pending.set(id, { resolve, reject, timer });
      process.send!({ type: REQUEST, id } satisfies Request);
    });
}
