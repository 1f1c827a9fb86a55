/**
 * Prometheus metrics, checked by the real tools: the exposition after pushes and pulls carries
 * route templates (never concrete paths), bytes pushed and pulled and the manifest cache's hits;
 * `promtool check metrics` accepts it; a real Prometheus (Debian's package, run here under a temp
 * folder on loopback) scrapes Berth and its HTTP API answers a PromQL request rate. Under
 * `--workers 2` every scrape shows the sum over both workers; `metrics.listen` moves /metrics to a
 * port of its own behind a bearer token.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { freePort, startBerthProcess } from '../helpers/node-process.js';
import { pushImage, randomBlob, sha256 } from '../helpers/oci.js';
import { missingTools } from '../helpers/tools.js';

const DASHBOARD = fileURLToPath(new URL('../../../docs/grafana/berth-dashboard.json', import.meta.url));

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function promtoolCheck(exposition: string): Promise<{ code: number | null; out: string }> {
  const p = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  p.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  p.stdin.end(exposition);
  const [code] = (await once(p, 'exit')) as [number | null];
  return { code, out };
}

describe('metrics', { skip: missingTools('prometheus', 'promtool') }, () => {
  let b: TestBerth;
  before(async () => {
    b = await startBerth();
  });
  after(async () => {
    await b?.close();
  });

  it('counts requests by route template, bytes pushed and pulled, cache hits; promtool accepts the exposition', async () => {
    const layer = randomBlob(10_000);
    const img = await pushImage(b.url, 'team/app', 'v1', { layers: [layer] });
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${b.url}/v2/team/app/manifests/v1`)).status, 200);
    const blob = await fetch(`${b.url}/v2/team/app/blobs/${sha256(layer)}`);
    assert.equal(Buffer.from(await blob.arrayBuffer()).length, layer.length);
    assert.equal((await fetch(`${b.url}/v2/team/app/manifests/nope`)).status, 404);

    const r = await fetch(`${b.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await r.text();
    assert.equal(sample(text, 'berth_http_requests_total{route="/v2/{name}/manifests/{reference}",method="PUT",status="201"}'), 1);
    assert.equal(sample(text, 'berth_http_requests_total{route="/v2/{name}/manifests/{reference}",method="GET",status="200"}'), 3);
    assert.equal(sample(text, 'berth_http_requests_total{route="/v2/{name}/manifests/{reference}",method="GET",status="404"}'), 1);
    assert.equal(sample(text, 'berth_http_requests_total{route="/v2/{name}/blobs/{digest}",method="GET",status="200"}'), 1);
    assert.equal(sample(text, 'berth_http_request_duration_seconds_count{route="/v2/{name}/manifests/{reference}",method="GET"}'), 4);
    assert.ok(!text.includes('team/app'), 'no concrete path or repository name in any label');
    assert.equal(sample(text, 'berth_registry_pushed_bytes_total'), img.config.length + layer.length);
    assert.equal(sample(text, 'berth_registry_pulled_bytes_total'), layer.length);
    assert.equal(sample(text, 'berth_registry_uploads_in_progress'), 0);
    const hits = sample(text, 'berth_registry_manifest_cache_lookups_total{result="hit"}') ?? 0;
    assert.ok(hits >= 2, `repeated manifest reads are cache hits (${hits})`);
    assert.equal(sample(text, 'berth_storage_project_bytes{project="team"}'), img.config.length + layer.length + img.manifest.length);
    assert.match(text, /^berth_build_info\{version="\d+\.\d+\.\d+[^"]*",node="v\d+[^"]*"\} 1$/m);
    assert.equal(sample(text, 'berth_system_read_only'), 0);
    assert.ok((sample(text, 'berth_metadata_query_duration_seconds_count{operation="manifests.get"}') ?? 0) >= 1, 'metadata queries are timed');
    assert.ok((sample(text, 'berth_metadata_query_duration_seconds_count{operation="transaction"}') ?? 0) >= 1, 'transactions are timed');

    const check = await promtoolCheck(text);
    assert.equal(check.code, 0, `promtool check metrics: ${check.out}`);
  });

  it('is scraped by a real Prometheus, whose API answers the request rate after pushes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-prometheus-'));
    const port = await freePort();
    await writeFile(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: berth\n    static_configs:\n      - targets: ['${b.host}']\n`,
    );
    let prom: ChildProcess | undefined;
    let out = '';
    try {
      prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
      prom.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
      prom.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
      const api = `http://127.0.0.1:${port}`;
      const query = async (q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
        const r = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`);
        const body = (await r.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
        assert.equal(body.status, 'success');
        return body.data.result;
      };
      const deadline = Date.now() + 60_000;
      let rate = 0;
      let n = 0;
      while (Date.now() < deadline) {
        assert.equal(prom.exitCode, null, `prometheus exited:\n${out}`);
        // Pushes keep going while Prometheus scrapes once a second.
        await pushImage(b.url, 'team/rate', `t${n++}`).catch(() => {});
        try {
          const up = await query('up{job="berth"}');
          const result = await query('sum(rate(berth_http_requests_total{job="berth",route="/v2/{name}/manifests/{reference}",method="PUT",status="201"}[10s]))');
          if (up[0]?.value[1] === '1' && result.length === 1) {
            rate = Number(result[0]!.value[1]);
            if (rate > 0) break;
          }
        } catch {
          // Prometheus not serving its API yet
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(rate > 0, `PromQL request rate of manifest PUTs is positive (got ${rate}); prometheus output:\n${out}`);

      // Every query of the Grafana dashboard is valid PromQL over metrics Berth exposes.
      const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
      const exposed = new Set([...(await (await fetch(`${b.url}/metrics`)).text()).matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap((m) => (m[2] === 'histogram' ? [`${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`] : [m[1]!])));
      for (const panel of dashboard.panels) {
        for (const t of panel.targets) {
          for (const name of t.expr.match(/berth_[a-z0-9_]+/g) ?? []) assert.ok(exposed.has(name), `dashboard panel "${panel.title}" uses ${name}, which Berth does not expose`);
          const r = await fetch(`${`http://127.0.0.1:${port}`}/api/v1/query?query=${encodeURIComponent(t.expr.replaceAll('$__rate_interval', '10s').replaceAll('$job', '.*'))}`);
          assert.equal(r.status, 200, `dashboard panel "${panel.title}": ${t.expr}: ${await r.text()}`);
        }
      }
    } finally {
      if (prom && prom.exitCode === null) {
        prom.kill('SIGTERM');
        await once(prom, 'exit');
      }
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serves on metrics.listen behind a bearer token, and not on the main port', async () => {
    const token = 'metrics-token-0123456789abcdef';
    const m = await startBerth({ metrics: { listen: '127.0.0.1:0', bearerToken: token } });
    try {
      assert.equal((await fetch(`${m.url}/metrics`)).status, 404);
      const at = `http://${m.berth.metricsAddress()}/metrics`;
      assert.equal((await fetch(at)).status, 401);
      assert.equal((await fetch(at, { headers: { Authorization: 'Bearer wrong-token-0123456789abcdef' } })).status, 401);
      const r = await fetch(at, { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(r.status, 200);
      assert.match(await r.text(), /^berth_build_info\{/m);
    } finally {
      await m.close();
    }
  });

  it('sums every worker of --workers 2 in each scrape', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-workers-metrics-'));
    const p = await startBerthProcess({ args: ['--workers', '2', '--data-dir', dir], env: { BERTH_METRICS__COLLECT_INTERVAL_SECONDS: '0' } });
    try {
      const n = 12;
      // A new connection per request: node:cluster hands connections to the workers in turn.
      for (let i = 0; i < n; i++) {
        const r = await fetch(`${p.url}/v2/team/none/manifests/t${i}`, { headers: { Connection: 'close' } });
        assert.equal(r.status, 404);
      }
      for (let i = 0; i < 4; i++) {
        const r = await fetch(`${p.url}/metrics`, { headers: { Connection: 'close' } });
        const text = await r.text();
        assert.equal(r.status, 200, text);
        // Every scrape, whichever worker answers it, counts all n requests.
        assert.equal(sample(text, 'berth_http_requests_total{route="/v2/{name}/manifests/{reference}",method="GET",status="404"}'), n, text);
        assert.equal(sample(text, `berth_build_info{version="${/version="([^"]+)"/.exec(text)![1]}",node="${process.version}"}`), 1, 'gauges of the shared state are not multiplied by the worker count');
      }
      const rss = (await (await fetch(`${p.url}/metrics`)).text()).match(/^berth_process_resident_memory_bytes (\d+)/m);
      assert.ok(rss && Number(rss[1]) > 60 * 1024 * 1024, 'the resident memory of both workers adds up');
    } finally {
      await p.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
