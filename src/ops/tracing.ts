/**
 * OpenTelemetry tracing, off unless `tracing.endpoint` names an OTLP/HTTP collector. Off, none
 * of this loads and nothing is wrapped: no SDK, no hooks, no proxies (zero cost).
 *
 * On: a span per HTTP request (its parent taken from the incoming W3C `traceparent`), and
 * child spans for every metadata query and blob-store call made while serving it, and for every
 * background job. The current span travels in an AsyncLocalStorage of this object (no global
 * OpenTelemetry registration: several servers in one process, as tests run them, keep their
 * own). Stores are traced through the wrappers of instrument.ts, which main.ts applies with
 * `around`, so the stores themselves carry no tracing code.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context, Span, SpanAttributes, Tracer } from '@opentelemetry/api';
import type { Around } from './instrument.js';

export interface TracingOptions {
  endpoint: string;
  serviceName: string;
  sampleRatio: number;
  version: string;
}

export class Tracing {
  private readonly current = new AsyncLocalStorage<Context>();

  private constructor(
    private readonly tracer: Tracer,
    private readonly api: typeof import('@opentelemetry/api'),
    private readonly propagator: import('@opentelemetry/core').W3CTraceContextPropagator,
    private readonly provider: { shutdown(): Promise<void>; forceFlush(): Promise<void> },
  ) {}

  static async open(o: TracingOptions): Promise<Tracing> {
    const api = await import('@opentelemetry/api');
    const { W3CTraceContextPropagator } = await import('@opentelemetry/core');
    const { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } = await import('@opentelemetry/sdk-trace-base');
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    const { resourceFromAttributes } = await import('@opentelemetry/resources');
    const url = o.endpoint.replace(/\/+$/, '').endsWith('/v1/traces') ? o.endpoint : `${o.endpoint.replace(/\/+$/, '')}/v1/traces`;
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': o.serviceName, 'service.version': o.version }),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(o.sampleRatio) }),
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 1000 })],
    });
    return new Tracing(provider.getTracer('berth', o.version), api, new W3CTraceContextPropagator(), provider);
  }

  private active(): Context {
    return this.current.getStore() ?? this.api.ROOT_CONTEXT;
  }

  /**
   * Starts the span of an incoming request, child of its `traceparent` when it has one, and
   * makes it current for everything the request does from here (call from its first hook).
   */
  startRequest(headers: Record<string, string | string[] | undefined>, method: string): Span {
    const parent = this.propagator.extract(this.api.ROOT_CONTEXT, headers, this.api.defaultTextMapGetter);
    const span = this.tracer.startSpan(`${method}`, { kind: this.api.SpanKind.SERVER, attributes: { 'http.request.method': method } }, parent);
    this.current.enterWith(this.api.trace.setSpan(parent, span));
    return span;
  }

  /** Ends a request's span with its route template and status. */
  endRequest(span: Span, method: string, route: string, status: number): void {
    span.updateName(`${method} ${route}`);
    span.setAttributes({ 'http.route': route, 'http.response.status_code': status });
    if (status >= 500) span.setStatus({ code: this.api.SpanStatusCode.ERROR });
    span.end();
  }

  /** Runs `fn` in a child span of the current one (a root span when there is none). */
  async span<T>(name: string, attributes: SpanAttributes, fn: () => Promise<T>): Promise<T> {
    const span = this.tracer.startSpan(name, { attributes }, this.active());
    try {
      return await this.current.run(this.api.trace.setSpan(this.active(), span), fn);
    } catch (e) {
      span.recordException(e as Error);
      span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: (e as Error).message });
      throw e;
    } finally {
      span.end();
    }
  }

  /** Runs a store call as a span (instrument.ts wraps the stores with it). */
  around(kind: 'metadata' | 'storage'): Around {
    return (name) => {
      const spanName = `${kind} ${name}`;
      const attributes = { [kind === 'metadata' ? 'db.operation.name' : 'berth.storage.call']: name };
      return (call) => this.span(spanName, attributes, call);
    };
  }

  /** Sends what is buffered (tests, shutdown). */
  flush(): Promise<void> {
    return this.provider.forceFlush();
  }

  close(): Promise<void> {
    return this.provider.shutdown();
  }
}
