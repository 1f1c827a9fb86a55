/**
 * Every Prometheus metric Berth exposes is declared here, in one registry per server process
 * (no module singleton: main.ts builds one and hands it to whoever counts). Names follow
 * `berth_<area>_<name>_<unit>`. To add a metric, declare it in `Metrics` below (a counter or
 * histogram that code updates) or in `collectFrom` (a gauge read from the stores at scrape time),
 * then update it where the event happens; the exposition, the `--workers` aggregation and the
 * Grafana dashboard (docs/grafana/berth-dashboard.json) need nothing else (add a panel there for a
 * metric worth watching; test/ops/metrics.test.ts checks that every name it uses exists).
 *
 * Under `--workers N` each worker keeps its own registry; the primary asks every worker for its
 * values and sums them (src/cluster/metrics-aggregation.ts). Counters and histograms add up;
 * gauges read from the shared database would be counted N times, so they declare the `max`
 * aggregator, and per-process gauges (uploads in flight) sum.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LabelledCounter, LabelledHistogram } from './labelled-metrics.js';
import type { Logger } from 'pino';
import type { MetadataStore } from '../metadata/store.js';
import type { Around } from './instrument.js';

/** Request latency buckets in seconds: registry requests range from sub-millisecond HEADs to minutes-long blob streams. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export interface MetricsOptions {
  version: string;
  /** Gauges read from the database are re-read at most this often (scrapes in between reuse them). */
  collectIntervalMs: number;
  logger?: Logger;
}

export class Metrics {
  readonly registry = new Registry();

  // The metrics every request or query updates are labelled-metrics.ts's cheap ones.
  readonly httpRequests = new LabelledCounter({
    name: 'berth_http_requests_total',
    help: 'HTTP requests answered, by route template, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new LabelledHistogram({
    name: 'berth_http_request_duration_seconds',
    help: 'Time from request to the end of the response, by route template and method.',
    labelNames: ['route', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly pushedBytes = new Counter({ name: 'berth_registry_pushed_bytes_total', help: 'Blob bytes received by uploads and written to the blob store.', registers: [this.registry] });
  readonly pulledBytes = new Counter({ name: 'berth_registry_pulled_bytes_total', help: 'Blob bytes served by complete GET responses (redirects to storage not counted).', registers: [this.registry] });
  readonly uploadsInProgress = new Gauge({ name: 'berth_registry_uploads_in_progress', help: 'Upload requests whose body is being received now.', registers: [this.registry] });
  readonly manifestCacheLookups = new LabelledCounter({
    name: 'berth_registry_manifest_cache_lookups_total',
    help: 'Manifest reads by whether the in-memory cache answered (result="hit") or the database did ("miss").',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly metadataPing = new Histogram({
    name: 'berth_metadata_ping_duration_seconds',
    help: 'Round trip of a trivial query to the metadata database, measured by readiness checks.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });
  readonly metadataQueries = new LabelledHistogram({
    name: 'berth_metadata_query_duration_seconds',
    help: 'Time of metadata store operations (a query group method, or a whole transaction), by operation.',
    labelNames: ['operation'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });
  readonly readOnly = new Gauge({ name: 'berth_system_read_only', help: '1 while the registry refuses writes (read-only mode).', aggregator: 'max', registers: [this.registry] });
  readonly scrubbedBytes = new Counter({ name: 'berth_scrub_verified_bytes_total', help: 'Blob bytes re-hashed by scrub runs in this process.', registers: [this.registry] });
  readonly scrubProblems = new Counter({
    name: 'berth_scrub_problems_total',
    help: 'Problems found by scrub runs in this process, by kind (corrupt, missing, dangling).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly scanDuration = new Histogram({
    name: 'berth_scan_duration_seconds',
    help: 'Time one image scan took, from start to stored result, by scanner (berth or harbor:<name>) and outcome.',
    labelNames: ['scanner', 'status'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly scanFailures = new Counter({ name: 'berth_scan_failures_total', help: 'Image scans that ended failed (unreadable layers, an external scanner error), by scanner.', labelNames: ['scanner'] as const, registers: [this.registry] });

  constructor(opts: MetricsOptions) {
    new Gauge({
      name: 'berth_build_info',
      help: 'Always 1; the labels name the running version.',
      labelNames: ['version', 'node'] as const,
      aggregator: 'max',
      registers: [this.registry],
    }).set({ version: opts.version, node: process.version }, 1);
    this.processMetrics();
  }

  /**
   * A few process figures (prom-client's default set names gauges `_total`, which promtool's
   * lint refuses). Under `--workers` they add up across workers, as the host sees them.
   */
  private processMetrics(): void {
    const registers = [this.registry];
    const loop = monitorEventLoopDelay({ resolution: 20 });
    loop.enable();
    let lastCpu = process.cpuUsage();
    const cpu = new Counter({ name: 'berth_process_cpu_seconds_total', help: 'CPU time (user + system) this process used.', registers });
    new Gauge({
      name: 'berth_process_resident_memory_bytes',
      help: 'Resident memory of the process.',
      registers,
      collect() {
        this.set(process.memoryUsage.rss());
        const now = process.cpuUsage();
        cpu.inc((now.user - lastCpu.user + now.system - lastCpu.system) / 1e6);
        lastCpu = now;
      },
    });
    new Gauge({ name: 'berth_process_heap_used_bytes', help: 'V8 heap in use.', registers, collect() { this.set(process.memoryUsage().heapUsed); } });
    new Gauge({
      name: 'berth_process_event_loop_delay_p99_seconds',
      help: '99th percentile of event-loop delay since the previous scrape.',
      aggregator: 'max',
      registers,
      collect() {
        this.set(loop.percentile(99) / 1e9);
        loop.reset();
      },
    });
    new Gauge({ name: 'berth_process_start_time_seconds', help: 'When the process started (seconds since the epoch).', aggregator: 'min', registers }).set(Math.round(Date.now() / 1000 - process.uptime()));
  }

  /** Times each metadata operation (instrument.ts wraps the store with it); its series is found once per operation. */
  readonly timeQuery: Around = (name) => {
    const series = this.metadataQueries.with({ operation: name });
    return (call) => {
      const start = performance.now();
      const observe = () => series.observe((performance.now() - start) / 1000);
      return call().then(
        (result) => {
          observe();
          return result;
        },
        (error: unknown) => {
          observe();
          throw error;
        },
      );
    };
  };

  /** Reports the metadata connection pool's use at every scrape (PostgreSQL; SQLite has no pool). */
  watchPool(pool: () => { open: number; idle: number; waiting: number; max: number }): void {
    new Gauge({
      name: 'berth_metadata_pool_connections',
      help: 'Connections of the metadata database pool by state: open, idle, waiting (requests queued for one), max.',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        for (const [state, n] of Object.entries(pool())) this.set({ state }, n);
      },
    });
  }

  /** The text exposition of this process's metrics. */
  async exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Exposes counters another part keeps as plain numbers per name (the pull-through cache's,
   * per upstream: src/proxy/stats.ts), read at scrape time. Keys starting with `bytesFrom` become
   * `berth_proxy_bytes_total{upstream,source}`; the rest `berth_proxy_events_total{upstream,event}`.
   */
  exposeProxyCounters(read: () => Record<string, Record<string, number>>): void {
    new Counter({
      name: 'berth_proxy_events_total',
      help: 'Pull-through cache events per upstream: upstreamRequests, manifestHits, manifestMisses, blobHits, blobMisses, staleServed, tagsChanged, verifyFailures.',
      labelNames: ['upstream', 'event'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [upstream, counters] of Object.entries(read())) {
          for (const [event, n] of Object.entries(counters)) if (!event.startsWith('bytesFrom')) this.inc({ upstream, event }, n);
        }
      },
    });
    new Counter({
      name: 'berth_proxy_bytes_total',
      help: 'Bytes the pull-through cache served, by upstream and where they came from (source="upstream" or "cache").',
      labelNames: ['upstream', 'source'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [upstream, c] of Object.entries(read())) {
          this.inc({ upstream, source: 'upstream' }, c.bytesFromUpstream ?? 0);
          this.inc({ upstream, source: 'cache' }, c.bytesFromCache ?? 0);
        }
      },
    });
  }

  /**
   * Registers the gauges read from the shared stores at scrape time: job queue depth and oldest
   * age per kind, the last garbage-collection run, storage used per project. Reads are cached for
   * `collectIntervalMs` so frequent scrapes (or many workers) do not load the database.
   */
  collectFrom(meta: MetadataStore, opts: MetricsOptions): void {
    let last = 0;
    let reading: Promise<void> | undefined;
    let inFlight = false;
    const gauges = {
      queued: new Gauge({ name: 'berth_jobs_queued', help: 'Jobs waiting to run, by kind.', labelNames: ['kind'] as const, aggregator: 'max', registers: [this.registry], collect: () => refresh() }),
      running: new Gauge({ name: 'berth_jobs_running', help: 'Jobs running now, by kind.', labelNames: ['kind'] as const, aggregator: 'max', registers: [this.registry], collect: () => refresh() }),
      oldest: new Gauge({ name: 'berth_jobs_oldest_queued_age_seconds', help: 'Age of the oldest waiting job, by kind.', labelNames: ['kind'] as const, aggregator: 'max', registers: [this.registry], collect: () => refresh() }),
      gcFinished: new Gauge({ name: 'berth_gc_last_run_finished_timestamp_seconds', help: 'When the last finished garbage-collection run ended.', aggregator: 'max', registers: [this.registry], collect: () => refresh() }),
      gcFreed: new Gauge({ name: 'berth_gc_last_run_freed_bytes', help: 'Bytes the last finished garbage-collection run freed.', aggregator: 'max', registers: [this.registry], collect: () => refresh() }),
      gcFailed: new Gauge({ name: 'berth_gc_last_run_failed', help: '1 when the last finished garbage-collection run failed.', aggregator: 'max', registers: [this.registry], collect: () => refresh() }),
      scanQueue: new Gauge({ name: 'berth_scan_queue_length', help: 'Image scans waiting in the job queue.', aggregator: 'max', registers: [this.registry], collect: () => refresh() }),
      projectBytes: new Gauge({ name: 'berth_storage_project_bytes', help: 'Bytes a project holds (distinct blobs and manifests), as quotas count them.', labelNames: ['project'] as const, aggregator: 'max', registers: [this.registry], collect: () => refresh() }),
    };
    const read = async () => {
      const now = Date.now();
      const depth = await meta.jobs.depth();
      for (const g of [gauges.queued, gauges.running, gauges.oldest]) g.reset();
      for (const d of depth) {
        gauges.queued.set({ kind: d.kind }, d.queued);
        gauges.running.set({ kind: d.kind }, d.running);
        gauges.oldest.set({ kind: d.kind }, d.oldestQueuedAt === undefined ? 0 : Math.max(0, (now - d.oldestQueuedAt) / 1000));
      }
      gauges.scanQueue.set(depth.find((d) => d.kind === 'scan.manifest')?.queued ?? 0);
      const [run] = (await meta.gcRuns.list(undefined, 10)).filter((r) => r.finishedAt !== null && !r.dryRun);
      if (run) {
        gauges.gcFinished.set(run.finishedAt! / 1000);
        gauges.gcFreed.set(Number((run.result as { bytesFreed?: unknown } | null)?.bytesFreed ?? 0));
        gauges.gcFailed.set(run.status === 'failed' ? 1 : 0);
      }
      gauges.projectBytes.reset();
      for (const project of await meta.usage.projects()) gauges.projectBytes.set({ project }, (await meta.usage.of({ project })).bytes);
    };
    // Every gauge below asks for the same (coalesced) read: prom-client collects them in
    // parallel, so one scrape's gauges share the read in flight, also with no interval (the
    // benchmark's setting; without this each of the eight gauges read every store again).
    const refresh = async () => {
      if (inFlight || Date.now() - last < opts.collectIntervalMs) return reading;
      last = Date.now();
      inFlight = true;
      reading = read()
        .catch((err: unknown) => {
          // A scrape during a database outage still answers (with the last values); readiness reports the outage.
          last = 0;
          opts.logger?.warn({ err }, 'metrics: could not read gauges from the metadata store');
        })
        .finally(() => (inFlight = false));
      return reading;
    };
  }
}
