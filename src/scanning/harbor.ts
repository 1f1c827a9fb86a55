/**
 * A client of Harbor's Pluggable Scanner API v1.1 (goharbor/pluggable-scanner-spec), so an
 * existing adapter (Trivy's, Clair's ...) can scan for Berth. For one image: `GET
 * /api/v1/metadata` (which report types the adapter produces, and whether it consumes this
 * manifest type), `POST /api/v1/scan` with a ScanRequest (the registry's URL, an Authorization
 * header carrying a short-lived pull-only token for the one repository, the artifact's
 * repository, digest and media type), then `GET /api/v1/scan/{id}/report` until it answers
 * 200 (the report) or an error; 302 means "not yet", retried after its Refresh-After (the
 * spec's header) or Retry-After seconds. The report's vulnerabilities become Findings, stored
 * like the built-in scanner's.
 *
 * Every call has a timeout and the whole scan a deadline; any deviation from the spec
 * (status, content type, JSON shape) is an error naming what was wrong, and the scan is
 * recorded as failed with it.
 */
import { z } from 'zod';
import type { Finding } from './match.js';
import { cvssBaseScore, ratingOf, type Severity } from './osv.js';

/** Report types this client reads, in order of preference (both carry HarborVulnerabilityReport). */
export const REPORT_TYPES = ['application/vnd.security.vulnerability.report; version=1.1', 'application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.1', 'application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0'];
const SCAN_REQUEST_TYPE = 'application/vnd.scanner.adapter.scan.request+json; version=1.0';
const CALL_TIMEOUT_MS = 30_000;
const MAX_BODY = 64 * 1024 * 1024;

export class ScannerError extends Error {}

export const MetadataSchema = z.object({
  scanner: z.object({ name: z.string().optional(), vendor: z.string().optional(), version: z.string().optional() }).passthrough(),
  capabilities: z.array(z.object({ consumes_mime_types: z.array(z.string()), produces_mime_types: z.array(z.string()) }).passthrough()),
  properties: z.record(z.string(), z.string()).optional(),
}).passthrough();
export type ScannerMetadata = z.infer<typeof MetadataSchema>;

const ReportSchema = z.object({
  scanner: z.object({ name: z.string().optional(), version: z.string().optional() }).passthrough().optional(),
  vulnerabilities: z
    .array(
      z.object({
        id: z.string().min(1),
        package: z.string().default(''),
        version: z.string().default(''),
        fix_version: z.string().optional().nullable(),
        severity: z.string().optional().nullable(),
        description: z.string().optional().nullable(),
        cvss3_vector: z.string().optional().nullable(),
        cwe_ids: z.array(z.string()).optional().nullable(),
      }).passthrough(),
    )
    .nullable()
    .default([]),
}).passthrough();

export interface ScannerEndpoint {
  /** The adapter's base URL (the API lives under /api/v1). */
  url: string;
  /** The Authorization header Berth sends to the adapter, if any. */
  authorization: string | null;
}

export interface ScanTarget {
  registryUrl: string;
  /** The Authorization header the adapter sends to this registry (a pull-only token), if any. */
  registryAuthorization: string | null;
  repository: string;
  digest: string;
  mimeType: string;
}

const HARBOR_SEVERITY: Record<string, Severity> = { unknown: 'unknown', negligible: 'low', low: 'low', medium: 'medium', high: 'high', critical: 'critical' };

async function call(ep: ScannerEndpoint, method: string, path: string, init: { accept: string; body?: string; contentType?: string }, signal?: AbortSignal): Promise<{ status: number; headers: Headers; text: string }> {
  const headers: Record<string, string> = { accept: init.accept };
  if (ep.authorization) headers.authorization = ep.authorization;
  if (init.contentType) headers['content-type'] = init.contentType;
  const timeout = AbortSignal.timeout(CALL_TIMEOUT_MS);
  let r: Response;
  try {
    r = await fetch(new URL(`api/v1/${path}`, ep.url.endsWith('/') ? ep.url : `${ep.url}/`), { method, headers, body: init.body ?? null, redirect: 'manual', signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ScannerError(`${method} ${path}: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`);
  }
  // Read at most MAX_BODY bytes: a misbehaving adapter cannot make Berth buffer without bound.
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of r.body ?? []) {
    size += (c as Uint8Array).length;
    if (size > MAX_BODY) {
      await r.body?.cancel().catch(() => {});
      throw new ScannerError(`${method} ${path}: the answer is larger than ${MAX_BODY} bytes`);
    }
    chunks.push(Buffer.from(c as Uint8Array));
  }
  return { status: r.status, headers: r.headers, text: Buffer.concat(chunks).toString('utf8') };
}

function json(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ScannerError(`${what} is not JSON`);
  }
}

function errorOf(r: { status: number; text: string }, what: string): ScannerError {
  let message = r.text.slice(0, 300);
  try {
    message = (JSON.parse(r.text) as { error?: { message?: string } }).error?.message ?? message;
  } catch {
    // not the spec's ErrorResponse: keep the text
  }
  return new ScannerError(`${what}: the scanner answered ${r.status}${message ? `: ${message}` : ''}`);
}

/** The adapter's metadata (GET /api/v1/metadata), checked against the spec's schema. */
export async function scannerMetadata(ep: ScannerEndpoint, signal?: AbortSignal): Promise<ScannerMetadata> {
  const r = await call(ep, 'GET', 'metadata', { accept: 'application/vnd.scanner.adapter.metadata+json; version=1.0, application/json' }, signal);
  if (r.status !== 200) throw errorOf(r, 'metadata');
  const m = MetadataSchema.safeParse(json(r.text, 'the metadata'));
  if (!m.success) throw new ScannerError(`the metadata does not follow the scanner API: ${m.error.issues[0]?.path.join('.')}: ${m.error.issues[0]?.message}`);
  return m.data;
}

/** The report type to ask for an artifact of `mimeType`; null when the adapter does not scan it into one we read. */
export function reportTypeFor(m: ScannerMetadata, mimeType: string): string | null {
  const produced = m.capabilities.filter((c) => c.consumes_mime_types.includes(mimeType)).flatMap((c) => c.produces_mime_types);
  return REPORT_TYPES.find((t) => produced.includes(t)) ?? null;
}

/** Turns a HarborVulnerabilityReport into findings (worst first, one per id and package version). */
export function findingsOf(report: unknown, ecosystem: string): Finding[] {
  const r = ReportSchema.safeParse(report);
  if (!r.success) throw new ScannerError(`the report does not follow the scanner API: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`);
  const found = new Map<string, Finding>();
  for (const v of r.data.vulnerabilities ?? []) {
    const score = v.cvss3_vector ? cvssBaseScore(v.cvss3_vector) : null;
    const severity = HARBOR_SEVERITY[(v.severity ?? '').toLowerCase()] ?? (score !== null ? ratingOf(score) : 'unknown');
    const f: Finding = {
      id: v.id,
      aliases: [],
      summary: (v.description ?? '').slice(0, 200),
      package: v.package,
      ecosystem,
      installedVersion: v.version,
      fixedVersion: v.fix_version || null,
      severity,
      cvss: score !== null && v.cvss3_vector ? { score, vector: v.cvss3_vector } : null,
    };
    found.set(`${f.id}\0${f.package}\0${f.installedVersion}`, f);
  }
  const rank = ['unknown', 'low', 'medium', 'high', 'critical'];
  return [...found.values()].sort((a, b) => rank.indexOf(b.severity) - rank.indexOf(a.severity) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || (a.package < b.package ? -1 : 1));
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });

/**
 * Scans one artifact through the adapter and returns the report's findings. `deadlineMs`
 * bounds the whole exchange (polling included).
 */
export async function scanWithAdapter(ep: ScannerEndpoint, target: ScanTarget, opts: { deadlineMs: number; ecosystem: string; signal?: AbortSignal | undefined }): Promise<{ findings: Finding[]; scanner: string }> {
  const deadline = Date.now() + opts.deadlineMs;
  const meta = await scannerMetadata(ep, opts.signal);
  const reportType = reportTypeFor(meta, target.mimeType);
  if (!reportType) throw new ScannerError(`the scanner ${meta.scanner.name ?? ''} does not produce a vulnerability report Berth reads for ${target.mimeType}`);
  const request = {
    registry: { url: target.registryUrl, ...(target.registryAuthorization ? { authorization: target.registryAuthorization } : {}) },
    artifact: { repository: target.repository, digest: target.digest, mime_type: target.mimeType },
  };
  const accepted = await call(ep, 'POST', 'scan', { accept: 'application/vnd.scanner.adapter.scan.response+json; version=1.0, application/json', contentType: SCAN_REQUEST_TYPE, body: JSON.stringify(request) }, opts.signal);
  if (accepted.status !== 202 && accepted.status !== 200) throw errorOf(accepted, 'scan request');
  const id = (json(accepted.text, 'the scan response') as { id?: unknown }).id;
  if (typeof id !== 'string' || id === '') throw new ScannerError('the scan response has no id');
  for (;;) {
    const r = await call(ep, 'GET', `scan/${encodeURIComponent(id)}/report`, { accept: reportType }, opts.signal);
    if (r.status === 200) return { findings: findingsOf(json(r.text, 'the report'), opts.ecosystem), scanner: [meta.scanner.name, meta.scanner.version].filter(Boolean).join(' ') };
    if (r.status !== 302) throw errorOf(r, 'report');
    const after = Number(r.headers.get('refresh-after') ?? r.headers.get('retry-after') ?? '1');
    const waitMs = Math.min(60_000, Math.max(50, Number.isFinite(after) ? after * 1000 : 1000));
    if (Date.now() + waitMs > deadline) throw new ScannerError(`the scanner did not finish within ${Math.round(opts.deadlineMs / 1000)} s`);
    await sleep(waitMs, opts.signal);
  }
}
