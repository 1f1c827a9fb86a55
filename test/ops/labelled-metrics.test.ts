/**
 * The cheap counter and histogram (src/ops/labelled-metrics.ts) expose exactly what prom-client's
 * own would for the same updates: the same text, and the same sums when `--workers` aggregates
 * them. Wrong labels are refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { LabelledCounter, LabelledHistogram } from '../../src/ops/labelled-metrics.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
// Values on a bound, between bounds, below the first and above the last.
const OBSERVED: [string, string, number][] = [
  ['/v2/{name}/manifests/{reference}', 'GET', 0.0004],
  ['/v2/{name}/manifests/{reference}', 'GET', 0.01],
  ['/v2/{name}/manifests/{reference}', 'HEAD', 0.05],
  ['/v2/{name}/blobs/{digest}', 'GET', 3],
  ['/v2/{name}/manifests/{reference}', 'GET', 0.2],
];

function both() {
  const ours = new Registry();
  const theirs = new Registry();
  const counter = new LabelledCounter({ name: 'x_requests_total', help: 'Requests.', labelNames: ['route', 'method'] as const, registers: [ours] });
  const histogram = new LabelledHistogram({ name: 'x_duration_seconds', help: 'Duration.', labelNames: ['route', 'method'] as const, buckets: BUCKETS, registers: [ours] });
  const pCounter = new Counter({ name: 'x_requests_total', help: 'Requests.', labelNames: ['route', 'method'] as const, registers: [theirs] });
  const pHistogram = new Histogram({ name: 'x_duration_seconds', help: 'Duration.', labelNames: ['route', 'method'] as const, buckets: BUCKETS, registers: [theirs] });
  for (const [route, method, v] of OBSERVED) {
    counter.inc({ route, method });
    histogram.with({ route, method }).observe(v);
    pCounter.inc({ route, method });
    pHistogram.observe({ route, method }, v);
  }
  return { ours, theirs };
}

describe('labelled metrics', () => {
  it('expose the same text as prom-client for the same updates', async () => {
    const { ours, theirs } = both();
    const text = await ours.metrics();
    assert.equal(text, await theirs.metrics());
    assert.match(text, /x_duration_seconds_bucket\{le="0.01",route="\/v2\/\{name\}\/manifests\/\{reference\}",method="GET"\} 2/);
  });

  it('aggregate across workers as prom-client does', async () => {
    const a = both();
    const b = both();
    const ours = await AggregatorRegistry.aggregate([await a.ours.getMetricsAsJSON(), await b.ours.getMetricsAsJSON()]).metrics();
    const theirs = await AggregatorRegistry.aggregate([await a.theirs.getMetricsAsJSON(), await b.theirs.getMetricsAsJSON()]).metrics();
    assert.equal(ours, theirs);
    assert.match(ours, /x_requests_total\{route="\/v2\/\{name\}\/manifests\/\{reference\}",method="GET"\} 6/);
  });

  it('refuses a missing, extra or non-string label', () => {
    const counter = new LabelledCounter({ name: 'y_total', help: 'Y.', labelNames: ['a'] as const, registers: [] });
    assert.throws(() => counter.inc({} as never), /label a/);
    assert.throws(() => counter.inc({ a: 'x', b: 'y' } as never), /takes the labels a/);
    assert.throws(() => counter.inc({ a: 1 } as never), /label a/);
  });
});
