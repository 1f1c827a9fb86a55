/**
 * The benchmark's OCI client over undici: blob pushes (single request, POST+PUT, chunked
 * PATCH), small image pushes in the order real clients use (HEAD, POST, PUT per blob, then the
 * manifest), blob pulls by curl (see `curlPull`), and load runs for the request-rate figures
 * (closed loops by wrk and ApacheBench, see `load`). Every call
 * checks the status it expects and carries the registry's credentials, if it has any.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { Registry } from './servers.js';
import { TokenAuth } from './token-auth.js';
import { sha256 } from '../test/helpers/oci.js';
import { blobBytes, type BlobSpec, type SmallImage } from './payload.js';

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export class RegistryClient {
  readonly pool: Pool;

  constructor(readonly registry: Registry) {
    this.pool = new Pool(registry.url, { connections: 64, pipelining: 1, keepAliveTimeout: 30_000, bodyTimeout: 120_000, headersTimeout: 120_000 });
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /**
   * The registry's credentials for a request: its fixed headers, plus with the token flow the
   * Bearer token of the request's scope (`push` asks for pull and push, as a pushing client's
   * HEADs do).
   */
  async authHeaders(method: string, path: string, push = false): Promise<Record<string, string>> {
    const scope = this.registry.tokens && TokenAuth.scopeOf(method, path, push);
    return scope ? { ...this.registry.headers, authorization: await this.registry.tokens!.header(scope) } : this.registry.headers;
  }

  private async call(method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH', path: string, expect: number[], opts: { body?: Iterable<Buffer> | Buffer; headers?: Record<string, string>; push?: boolean } = {}) {
    const body = opts.body === undefined ? null : Buffer.isBuffer(opts.body) ? opts.body : Readable.from(opts.body);
    // reset: false keeps the connection after a HEAD, as docker and containerd (Go's net/http) do;
    // undici otherwise closes it after every HEAD, and each blob check of a push would open a new one.
    const r = await this.pool.request({ method, path, body, reset: false, headers: { ...(await this.authHeaders(method, path, opts.push)), ...opts.headers } });
    if (!expect.includes(r.statusCode)) {
      const text = await r.body.text().catch(() => '');
      throw new Error(`${this.registry.label}: ${method} ${path.slice(0, 120)} -> ${r.statusCode} (expected ${expect.join('/')}): ${text.slice(0, 300)}`);
    }
    return r;
  }

  /** Path (with query) of a Location header, plus `extra` query text. */
  private follow(location: unknown, extra = ''): string {
    const u = new URL(String(location), this.registry.url);
    const search = extra ? (u.search ? `${u.search}&${extra}` : `?${extra}`) : u.search;
    return `${u.pathname}${search}`;
  }

  async startUpload(repo: string): Promise<string> {
    const r = await this.call('POST', `/v2/${repo}/blobs/uploads/`, [202]);
    await r.body.dump();
    return String(r.headers.location);
  }

  /** A whole blob in one body: `POST ?digest=` where the registry accepts it, else POST then PUT. */
  async pushMonolithic(repo: string, blob: BlobSpec | Buffer): Promise<void> {
    const { digest, size, body } = Buffer.isBuffer(blob) ? { digest: sha256(blob), size: blob.length, body: blob } : { ...blob, body: blobBytes(blob.seed, 0, blob.size) };
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(size) };
    if (this.registry.singlePostUpload) {
      const r = await this.call('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, [201], { body, headers });
      return r.body.dump();
    }
    const location = await this.startUpload(repo);
    const r = await this.call('PUT', this.follow(location, `digest=${digest}`), [201], { body, headers });
    await r.body.dump();
  }

  /** POST, then PATCH chunks of `chunk` bytes with Content-Range, then an empty PUT ?digest=. */
  async pushChunked(repo: string, blob: BlobSpec, chunk: number): Promise<void> {
    let location = await this.startUpload(repo);
    for (let start = 0; start < blob.size; start += chunk) {
      const end = Math.min(blob.size, start + chunk);
      const r = await this.call('PATCH', this.follow(location), [202], {
        body: blobBytes(blob.seed, start, end),
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(end - start), 'content-range': `${start}-${end - 1}` },
      });
      await r.body.dump();
      location = String(r.headers.location);
    }
    const r = await this.call('PUT', this.follow(location, `digest=${blob.digest}`), [201], { headers: { 'content-length': '0' } });
    await r.body.dump();
  }

  /**
   * MB/s of one pull of a blob by curl, timed by curl itself (from the request to the last
   * byte, without the process's start). Every blob pull of the benchmark goes through it: this
   * Node client saturated a core at 300-2,000 MB/s on this host, so its pulls timed the client,
   * where curl takes 2,400-2,800 MB/s from the same send-only server.
   */
  async curlPull(repo: string, digest: string, size: number): Promise<number> {
    const path = `/v2/${repo}/blobs/${digest}`;
    return curlPull(`${this.registry.url}${path}`, await this.authHeaders('GET', path), size, this.registry.label);
  }

  /** MB/s of `streams` curl pulls of a blob at once: all their bytes over the wall-clock time until the last one ended. */
  async curlPulls(repo: string, digest: string, size: number, streams: number): Promise<number> {
    const started = performance.now();
    await Promise.all(Array.from({ length: streams }, () => this.curlPull(repo, digest, size)));
    return (size * streams) / 1e6 / ((performance.now() - started) / 1000);
  }

  async blobExists(repo: string, digest: string, push = false): Promise<boolean> {
    const r = await this.call('HEAD', `/v2/${repo}/blobs/${digest}`, [200, 404], { push });
    await r.body.dump();
    return r.statusCode === 200;
  }

  /** What a client does for a small image: per blob HEAD then POST + PUT, then the manifest. */
  async pushSmallImage(repo: string, tag: string, image: SmallImage): Promise<void> {
    for (const b of image.blobs) {
      if (await this.blobExists(repo, sha256(b), true)) continue;
      await this.pushBlobAfterPost(repo, b);
    }
    await this.putManifest(repo, tag, image.manifest);
  }

  /** A small blob as docker and containerd push it: POST, then PUT with the body and the digest. */
  async pushBlobAfterPost(repo: string, blob: Buffer): Promise<void> {
    const location = await this.startUpload(repo);
    const r = await this.call('PUT', this.follow(location, `digest=${sha256(blob)}`), [201], { body: blob, headers: { 'content-type': 'application/octet-stream' } });
    await r.body.dump();
  }

  /** 5xx answers to manifest PUTs that were retried (see putManifest). */
  retriedServerErrors = 0;

  /**
   * PUT a manifest by tag. With `retries`, a 5xx answer is counted in `retriedServerErrors` and
   * the PUT sent again (at most `retries` times), so that a registry that fails some writes
   * under contention still gets timed, and the failures are reported instead of hidden.
   */
  async putManifest(repo: string, tag: string, manifest: Buffer, retries = 0): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const r = await this.call('PUT', `/v2/${repo}/manifests/${tag}`, attempt < retries ? [201, 500, 502, 503] : [201], {
        body: manifest,
        headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      });
      await r.body.dump();
      if (r.statusCode === 201) return;
      this.retriedServerErrors++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async getJson(path: string): Promise<unknown> {
    const r = await this.call('GET', path, [200], { headers: { accept: MANIFEST_ACCEPT } });
    return r.body.json();
  }
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function forEachConcurrent<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

export interface LoadResult {
  requests: number;
  rps: number;
  meanMs: number;
  p99Ms: number;
  errors: number;
}

export interface LoadOptions {
  method: 'GET' | 'HEAD';
  paths: string[];
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
}

/**
 * A closed-loop load run: `connections` loops each keep one request in flight on its own
 * keep-alive connection for `seconds`.
 *
 * GETs are sent by wrk (Debian's `wrk`, one thread), cycling through `paths`: the load
 * generator shares the 2 cores with the server, and node:http spent more CPU per request than
 * the server it measured (a bare node:http server answering a fixed body reached 9-12k
 * requests/s from it, 24k from wrk), so the GET rows measured the client. HEADs are sent by
 * ApacheBench (Debian's `apache2-utils`, `ab -i -k`), to the first of `paths` only (ab takes
 * one address): wrk, h2load and autocannon all wait for a body after a HEAD response that
 * carries Content-Length, undici closes the connection after every HEAD, and node:http again
 * measured the client (a bare node:http server: 36k HEADs/s from ab).
 */
export async function load(url: string, opts: LoadOptions): Promise<LoadResult> {
  return opts.method === 'GET' ? loadWithWrk(url, opts) : loadWithAb(url, opts);
}

/** Runs a load generator; its standard output, or an error naming the package it needs. */
function runTool(command: string, args: string[], seconds: number, pkg: string): Promise<string> {
  // Asynchronously: the benchmark samples the server's memory while the load runs.
  return new Promise<string>((resolve, reject) =>
    execFile(command, args, { encoding: 'utf8', timeout: (seconds + 30) * 1000, maxBuffer: 16 * 1024 * 1024 }, (error, out, err) => {
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') reject(new Error(`${command} not found; the benchmark needs it: apt-get install ${pkg}`));
      else if (error) reject(new Error(`${command} failed: ${error.message} ${err}`.slice(0, 500)));
      else resolve(out);
    }),
  );
}

/**
 * MB/s of one GET of `url` by curl (the body thrown away), timed by curl
 * from the request to the last byte; throws unless it answered 200 with exactly `size` bytes.
 */
export async function curlPull(url: string, headers: Record<string, string>, size: number, label = url): Promise<number> {
  const args = ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_total}', ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url];
  const [status, bytes, seconds] = (await runTool('curl', args, 120, 'curl')).trim().split(' ').map(Number) as [number, number, number];
  if (status !== 200 || bytes !== size) throw new Error(`${label}: curl pulled ${bytes} of ${size} bytes (status ${status})`);
  return size / 1e6 / seconds;
}

/** The wrk script: requests cycle through `paths` with `headers`; the summary is one JSON line. */
function wrkScript(opts: LoadOptions): string {
  const lua = (v: string) => JSON.stringify(v); // a JSON string is a valid Lua string literal for these ASCII values
  const headers = Object.entries(opts.headers ?? {}).map(([k, v]) => `[${lua(k)}] = ${lua(v)}`).join(', ');
  return `local paths = { ${opts.paths.map(lua).join(', ')} }
local headers = { ${headers} }
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format(${lua(opts.method)}, paths[i], headers)
end
done = function(summary, latency)
  local e = summary.errors
  io.write(string.format('WRK_SUMMARY {"requests":%d,"micros":%d,"failed":%d,"status":%d,"meanUs":%.3f,"p99Us":%.3f}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status, latency.mean, latency:percentile(99.0)))
end
`;
}

async function loadWithWrk(url: string, opts: LoadOptions): Promise<LoadResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-wrk-'));
  try {
    const script = join(dir, 'load.lua');
    await writeFile(script, wrkScript(opts));
    const args = ['-t1', `-c${opts.connections}`, `-d${Math.max(1, Math.round(opts.seconds))}s`, '--timeout', '10s', '-s', script, url];
    const stdout = await runTool('wrk', args, opts.seconds, 'wrk');
    const line = /WRK_SUMMARY (\{.*\})/.exec(stdout)?.[1];
    if (!line) throw new Error(`wrk printed no summary: ${stdout}`.slice(0, 500));
    const r = JSON.parse(line) as { requests: number; micros: number; failed: number; status: number; meanUs: number; p99Us: number };
    // wrk counts answers outside 2xx/3xx as requests too; they are errors here, as ab's non-2xx are.
    const ok = r.requests - r.status;
    return { requests: ok, rps: ok / (r.micros / 1e6), meanMs: r.meanUs / 1000, p99Ms: r.p99Us / 1000, errors: r.failed + r.status };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The same closed loop with ApacheBench: HTTP/1.0 with keep-alive, `-i` for HEAD. */
async function loadWithAb(url: string, opts: LoadOptions): Promise<LoadResult> {
  if (opts.method !== 'HEAD') throw new Error('ab sends HEADs here; GETs go through wrk');
  const seconds = Math.max(1, Math.round(opts.seconds));
  const headers = Object.entries(opts.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const args = ['-i', '-k', '-q', '-c', String(opts.connections), '-t', String(seconds), '-n', '100000000', '-s', '10', ...headers, `${url}${opts.paths[0]}`];
  const out = await runTool('ab', args, seconds, 'apache2-utils');
  const field = (label: string) => {
    const m = new RegExp(`^${label}:\\s+([\\d.]+)`, 'm').exec(out);
    if (!m) throw new Error(`ab printed no "${label}": ${out}`.slice(0, 800));
    return Number(m[1]);
  };
  const complete = field('Complete requests');
  // Counted apart from "Failed requests" (which counts only broken responses); absent when none.
  const non2xx = Number(/^Non-2xx responses:\s+(\d+)/m.exec(out)?.[1] ?? 0);
  const errors = field('Failed requests') + non2xx;
  const ok = complete - non2xx;
  return {
    requests: ok,
    rps: ok / field('Time taken for tests'),
    meanMs: field('Time per request'),
    // ab prints whole milliseconds per percentile.
    p99Ms: Number(/^\s+99%\s+(\d+)/m.exec(out)?.[1] ?? NaN),
    errors,
  };
}
