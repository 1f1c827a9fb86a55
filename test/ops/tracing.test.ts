/**
 * Tracing with a real OTLP/HTTP exporter and a small OTLP/HTTP receiver in the test: a request
 * carrying a W3C `traceparent` produces a server span in that trace, child of the caller's span,
 * and the metadata queries and storage calls it made are children of the server span. Without
 * `tracing.endpoint` no tracer exists.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { pushImage, sha256 } from '../helpers/oci.js';

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
}

/** OTLP/JSON carries ids as hex (or, from some encoders, base64). */
function hex(id: unknown): string {
  const s = String(id ?? '');
  return /^[0-9a-f]*$/.test(s) ? s : Buffer.from(s, 'base64').toString('hex');
}

describe('tracing', () => {
  let receiver: Server;
  const spans: ReceivedSpan[] = [];
  let b: TestBerth;
  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        assert.equal(req.url, '/v1/traces');
        assert.match(req.headers['content-type'] ?? '', /json/);
        const doc = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: { key: string; value: Record<string, unknown> }[] }[] }[] }[] };
        for (const rs of doc.resourceSpans) {
          for (const ss of rs.scopeSpans) {
            for (const s of ss.spans) {
              spans.push({ traceId: hex(s.traceId), spanId: hex(s.spanId), parentSpanId: hex(s.parentSpanId), name: s.name, attributes: Object.fromEntries((s.attributes ?? []).map((a) => [a.key, Object.values(a.value)[0]])) });
            }
          }
        }
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    b = await startBerth({ tracing: { endpoint: `http://127.0.0.1:${(receiver.address() as { port: number }).port}` } });
  });
  after(async () => {
    await b?.close();
    receiver?.close();
  });

  it('exports request spans in the caller\'s trace, with metadata and storage spans as children', async () => {
    const img = await pushImage(b.url, 'team/traced', 'v1');
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const r = await fetch(`${b.url}/v2/team/traced/blobs/${sha256(img.layers[0]!)}`, { headers: { traceparent: `00-${traceId}-${callerSpan}-01` } });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    // The server span ends once the response has gone out (onResponse), a moment after the client has it.
    let server: ReceivedSpan | undefined;
    for (let i = 0; i < 50 && !server; i++) {
      await b.berth.tracing!.flush();
      server = spans.find((s) => s.traceId === traceId && s.parentSpanId === callerSpan);
      if (!server) await new Promise((res) => setTimeout(res, 100));
    }
    const inTrace = spans.filter((s) => s.traceId === traceId);
    assert.ok(server, `a server span child of the caller's span: ${JSON.stringify(inTrace)}`);
    assert.equal(server.name, 'GET /v2/{name}/blobs/{digest}');
    assert.equal(server.attributes['http.response.status_code'], 200);
    const children = inTrace.filter((s) => s.parentSpanId === server.spanId).map((s) => s.name);
    assert.ok(children.includes('metadata blobs.sizeInRepository'), `metadata span under the request: ${children.join(', ')}`);
    assert.ok(children.includes('storage stat'), `storage span under the request: ${children.join(', ')}`);
    // Requests without a traceparent start traces of their own.
    const pushes = spans.filter((s) => s.name === 'PUT /v2/{name}/manifests/{reference}');
    assert.equal(pushes.length, 1);
    assert.equal(pushes[0]!.parentSpanId, '');
    assert.ok(spans.some((s) => s.traceId === pushes[0]!.traceId && s.name === 'metadata transaction'), 'the manifest push transaction is in its trace');
  });

  it('is off without tracing.endpoint: no tracer is created', async () => {
    const plain = await startBerth();
    try {
      assert.equal(plain.berth.tracing, undefined);
    } finally {
      await plain.close();
    }
  });
});
