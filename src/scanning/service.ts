/**
 * Scanning as a service: scanning one image manifest (read its layers once, record the
 * inventory and its findings, or hand it to the default external scanner), the status a scan
 * goes through, reading results for the API, the CLI and the read gate, security policies,
 * and search. The vulnerability database (imports, rescans) is `database` (database.ts).
 *
 * Status is recorded, never guessed: `pending` in the transaction that enqueues the scan (a
 * push, an on-demand request), `running` when the job starts, then `done`, `failed` (with the
 * reason) or `unsupported`, each final result with its `scan.completed` audit entry and
 * outbox event in one transaction. A manifest never enqueued reads `unscanned`. While a new
 * scan is pending or running, the last finished scan's findings stay (the gate keeps judging
 * them). After each change commits, the changed digest (or project policy) is announced on the
 * change feed, and the pull gate of every process drops just those verdicts (gate.ts).
 */
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.js';
import { emitEvent } from '../events/emit.js';
import { projectOf, type Digest, type RepoName } from '../domain/names.js';
import type { ScanResultRecord, ScanStore } from '../metadata/scan-store.js';
import type { ManifestRecord, MetadataQueries, MetadataStore } from '../metadata/store.js';
import type { RegistryChange } from '../policy/registry-changes.js';
import type { BlobStore } from '../storage/blob-store.js';
import { probeFor } from './binaries.js';
import { DB_VERSION, VulnDatabase } from './database.js';
import { scanWithAdapter } from './harbor.js';
import { readInventory, wantFile, type Inventory } from './inventory.js';
import { walkLayers } from './layers.js';
import { lookupKeys, matchInventory, summarize, type Finding } from './match.js';
import { childDigests, findingRows, IMAGE_CONFIGS, INDEX_MANIFESTS, isScannableImage, POLICY_CHANGED, RESULT_CHANGED, SCANNER, type ImageManifestJson } from './media.js';
import type { Severity } from './osv.js';
import { SecurityPolicySchema, type SecurityPolicy } from './policy.js';
import { SBOM_FORMATS, sbomBytes, type SbomFormat } from './sbom.js';
import type { ScannerRegistry } from './scanners.js';

export type { DatabaseInfo } from './database.js';
export { VulnDbError } from './database.js';

export type ScanState = 'unscanned' | 'pending' | 'running' | 'done' | 'failed' | 'unsupported';

export interface ScanReport {
  status: ScanState;
  reason: string | null;
  scannedAt: number | null;
  /** Which scanner produced the result: "berth", or "harbor:<name>" for an external one. */
  scanner: string | null;
  database: { version: string | null };
  summary: Record<Severity, number>;
  vulnerabilities: Finding[];
  /** For an index: the report of each platform's manifest. */
  manifests?: { digest: string; status: string }[];
}

export interface SearchHit {
  repository: string;
  digest: string;
  tags: string[];
  /** The advisory's id (searching by an alias finds the advisories that carry it). */
  id: string;
  packages: string[];
  severity: string;
}

/** Where scan timings and failures are counted (src/ops/metrics.ts, wired by main.ts). */
export interface ScanMetrics {
  finished(scanner: string, status: string, seconds: number): void;
}

export interface ScanServiceDeps {
  meta: MetadataStore;
  store: ScanStore;
  blobs: BlobStore;
  audit: AuditLog;
  logger: Logger;
  now?: () => number;
  /** Announces changed results and policies to the pull gates of every process (after commit). */
  changed?: (messages: string[]) => Promise<void>;
  /** Attaches an SBOM to the image as an OCI 1.1 referrer (wired by main.ts over the registry). */
  attach?: (repo: RepoName, subject: { digest: string; mediaType: string; size: number }, artifactType: string, bytes: Buffer, annotations: Record<string, string>) => Promise<unknown>;
  /** External scanners; without it every scan is built in. */
  scanners?: ScannerRegistry;
  /** A short-lived pull-only token for one repository, for an external scanner (null: the registry needs none). */
  pullToken?: (repo: RepoName) => Promise<string | null>;
  /** How long an external scan may take, polling included. */
  externalDeadlineMs?: number;
  metrics?: ScanMetrics;
}

type Outcome = { digest: string; status: 'done' | 'failed' | 'unsupported'; reason: string | null; inventory: Inventory | null; vulnerabilities: Finding[] };

export class ScanService {
  readonly store: ScanStore;
  readonly database: VulnDatabase;
  private readonly meta: MetadataStore;
  private readonly now: () => number;
  private readonly changed: (messages: string[]) => Promise<void>;

  constructor(private readonly deps: ScanServiceDeps) {
    this.meta = deps.meta;
    this.store = deps.store;
    this.now = deps.now ?? Date.now;
    this.changed = deps.changed ?? (async () => {});
    this.database = new VulnDatabase(deps.meta, deps.store, deps.blobs, deps.audit, deps.logger, this.now, this.changed);
  }

  /**
   * The RegistryChangeListener: an image push enqueues its scan and records it pending, and a
   * push into the database repository (`databaseRepository`) its import, in the push's
   * transaction. (A delete needs nothing here: results go with the last manifest row.)
   */
  listener(opts: { scanOnPush: boolean; databaseRepository: string | null }) {
    return async (tx: MetadataQueries, change: RegistryChange): Promise<void> => {
      if (change.kind !== 'manifest.pushed') return;
      const now = this.now();
      if (opts.databaseRepository !== null && change.repo === opts.databaseRepository && !INDEX_MANIFESTS.has(change.mediaType) && !change.subject) {
        await tx.jobs.enqueue({ kind: 'vulndb.import', payload: { repository: change.repo, digest: change.digest }, maxAttempts: 3, runAt: now, dedupeKey: `vulndb.import:${change.digest}` }, now);
        return;
      }
      if (!opts.scanOnPush || !isScannableImage(change)) return;
      await this.enqueueIn(tx, change.repo, change.digest, now);
    };
  }

  /** Enqueues a scan and records it pending (a scan already queued or running is not doubled). */
  private async enqueueIn(tx: MetadataQueries, repo: RepoName, digest: string, now: number): Promise<boolean> {
    const id = await tx.jobs.enqueue({ kind: 'scan.manifest', payload: { repository: repo, digest }, maxAttempts: 3, runAt: now, dedupeKey: `scan:${digest}` }, now);
    if (id === undefined) return false;
    await tx.scans.setStatus(digest, 'pending', SCANNER, now);
    return true;
  }

  /** Enqueues a scan of `digest` of `repo` now (each platform of an index); false when all were already queued. */
  async requestScan(repo: RepoName, digest: Digest): Promise<boolean> {
    const manifest = await this.meta.manifests.get(repo, { kind: 'digest', digest });
    if (!manifest) throw new Error('unknown manifest');
    const digests = INDEX_MANIFESTS.has(manifest.mediaType) ? childDigests(manifest.content) : [digest];
    const now = this.now();
    const queued = await this.meta.transaction(async (tx) => {
      let any = false;
      for (const d of digests) any = (await this.enqueueIn(tx, repo, d, now)) || any;
      return any;
    });
    if (queued) await this.changed(digests.map((d) => `${RESULT_CHANGED}${d}`));
    return queued;
  }

  /** Matches an inventory against the stored database. */
  async match(inventory: Inventory): Promise<Finding[]> {
    return matchInventory(inventory, await this.store.affectedBy(lookupKeys(inventory)));
  }

  /**
   * Scans `digest` of `repo` with the default external scanner if one is registered, else
   * the built-in one. Never throws for a bad image or a failing scanner: the result is
   * `failed` with the reason (the push stays).
   */
  async scan(repo: RepoName, digest: Digest, signal?: AbortSignal): Promise<ScanResultRecord> {
    const manifest = await this.meta.manifests.get(repo, { kind: 'digest', digest });
    if (!manifest) throw new Error(`manifest ${digest} is not in ${repo}`);
    if (!isScannableImage(manifest)) return this.complete(repo, { digest, status: 'unsupported', reason: `not an image manifest (${manifest.artifactType ?? manifest.mediaType})`, inventory: null, vulnerabilities: [] }, SCANNER);
    let json: ImageManifestJson;
    try {
      json = JSON.parse(manifest.content.toString('utf8')) as ImageManifestJson;
    } catch {
      return this.complete(repo, { digest, status: 'failed', reason: 'the manifest is not JSON', inventory: null, vulnerabilities: [] }, SCANNER);
    }
    if (json.config?.mediaType && !IMAGE_CONFIGS.has(json.config.mediaType)) {
      return this.complete(repo, { digest, status: 'unsupported', reason: `not a container image (config ${json.config.mediaType})`, inventory: null, vulnerabilities: [] }, SCANNER);
    }
    const external = await this.deps.scanners?.active();
    const scanner = external ? `harbor:${external.name}` : SCANNER;
    const started = this.now();
    await this.store.setStatus(digest, 'running', scanner, started);
    await this.changed([`${RESULT_CHANGED}${digest}`]);
    let result: ScanResultRecord;
    try {
      if (external) {
        const token = (await this.deps.pullToken?.(repo)) ?? null;
        const r = await scanWithAdapter(external.endpoint, { registryUrl: external.registryUrl, registryAuthorization: token === null ? null : `Bearer ${token}`, repository: repo, digest, mimeType: manifest.mediaType }, { deadlineMs: this.deps.externalDeadlineMs ?? 30 * 60_000, ecosystem: scanner, signal });
        result = await this.complete(repo, { digest, status: 'done', reason: null, inventory: null, vulnerabilities: r.findings }, scanner, r.scanner || scanner);
      } else {
        const layers = (json.layers ?? []).map((l) => ({ open: () => this.deps.blobs.read(l.digest as Digest, undefined, signal) }));
        const walked = await walkLayers(layers, (path) => wantFile(path), signal, probeFor);
        const inventory = readInventory(walked.files);
        const vulnerabilities = await this.match(inventory);
        this.deps.logger.info({ repo, digest, packages: inventory.packages.length, vulnerabilities: vulnerabilities.length, entries: walked.entries, ms: this.now() - started }, 'scan finished');
        // SBOMs first, so a result that reads `done` has its referrers in place.
        await this.attachSboms(repo, manifest, inventory);
        result = await this.complete(repo, { digest, status: 'done', reason: null, inventory, vulnerabilities }, scanner);
      }
    } catch (e) {
      if (signal?.aborted) throw e;
      const reason = e instanceof Error ? e.message : String(e);
      this.deps.logger.warn({ repo, digest, scanner, reason }, 'scan failed');
      result = await this.complete(repo, { digest, status: 'failed', reason: external ? `the scanner ${external.name} failed: ${reason}` : `could not read the image's layers: ${reason}`, inventory: null, vulnerabilities: [] }, scanner);
    }
    this.deps.metrics?.finished(scanner, result.status, (this.now() - started) / 1000);
    return result;
  }

  /** Publishes both SBOMs as referrers of the image; a refusal (a quota, say) is logged, not fatal. */
  private async attachSboms(repo: RepoName, manifest: ManifestRecord, inventory: Inventory): Promise<void> {
    if (!this.deps.attach) return;
    for (const format of Object.keys(SBOM_FORMATS) as SbomFormat[]) {
      try {
        const bytes = sbomBytes(format, { repository: repo, digest: manifest.digest, createdAt: manifest.pushedAt }, inventory);
        await this.deps.attach(repo, manifest, SBOM_FORMATS[format].artifactType, bytes, { 'org.opencontainers.image.created': new Date(manifest.pushedAt).toISOString(), 'dev.berth.sbom.format': format });
      } catch (e) {
        this.deps.logger.warn({ repo, digest: manifest.digest, format, err: e instanceof Error ? e.message : String(e) }, 'could not attach the SBOM');
      }
    }
  }

  /** The SBOM of a scanned image manifest of `repo`; undefined when it has no inventory (yet). */
  async sbom(repo: RepoName, digest: Digest, format: SbomFormat): Promise<Buffer | undefined> {
    const manifest = await this.meta.manifests.get(repo, { kind: 'digest', digest });
    const inventory = manifest && (await this.inventory(digest));
    return inventory && sbomBytes(format, { repository: repo, digest, createdAt: manifest.pushedAt }, inventory);
  }

  /**
   * Stores a final result with its `scan.completed` audit entry and outbox event in one
   * transaction (forgotten again at once if the manifest was deleted meanwhile).
   */
  private async complete(repo: RepoName, r: Outcome, scanner: string, dbVersionOverride?: string): Promise<ScanResultRecord> {
    const now = this.now();
    const dbVersion = dbVersionOverride ?? (await this.store.state(DB_VERSION)) ?? null;
    const record = { ...r, dbVersion, scanner, scannedAt: now };
    const detail = { digest: r.digest, status: r.status, reason: r.reason, scanner, database: dbVersion, summary: summarize(r.vulnerabilities) };
    await this.store.transaction(async (tx) => {
      await tx.scans.putResult(record, findingRows(r.vulnerabilities), now);
      await tx.scans.forgetUnheld([r.digest]);
      await this.deps.audit.recordIn(tx, { actor: 'system:scanner', action: 'scan.completed', resource: `${repo}@${r.digest}`, project: projectOf(repo), result: r.status === 'failed' ? 'failure' : 'success', detail });
      await emitEvent(tx, { type: 'scan.completed', project: projectOf(repo), repository: repo, actor: 'system:scanner', data: detail });
    });
    await this.changed([`${RESULT_CHANGED}${r.digest}`]);
    return { ...record, updatedAt: now, previousStatus: null };
  }

  /** The report of a manifest of `repo` (an index: its platforms' results together). */
  async report(repo: RepoName, digest: Digest): Promise<ScanReport | undefined> {
    const manifest = await this.meta.manifests.get(repo, { kind: 'digest', digest });
    if (!manifest) return undefined;
    if (INDEX_MANIFESTS.has(manifest.mediaType)) {
      const children = childDigests(manifest.content);
      const results = new Map((await this.store.results(children)).map((r) => [r.digest, r]));
      const parts = children.map((d) => ({ digest: d, status: results.get(d)?.status ?? 'unscanned' }));
      const vulns = new Map<string, Finding>();
      for (const r of results.values()) for (const v of r.vulnerabilities as Finding[]) vulns.set(`${v.id}\0${v.ecosystem}\0${v.package}\0${v.installedVersion}`, v);
      const statuses = parts.filter((p) => p.status !== 'unsupported').map((p) => p.status);
      const status = statuses.length === 0 ? 'unsupported' : (['failed', 'running', 'pending', 'unscanned'].find((s) => statuses.includes(s as never)) ?? 'done');
      const all = [...vulns.values()];
      const first = [...results.values()][0];
      return { status: status as ScanState, reason: null, scannedAt: Math.max(0, ...[...results.values()].map((r) => r.scannedAt ?? 0)) || null, scanner: first?.scanner ?? null, database: { version: first?.dbVersion ?? null }, summary: summarize(all), vulnerabilities: all, manifests: parts };
    }
    const r = await this.store.result(digest);
    if (!r) return { status: isScannableImage(manifest) ? 'unscanned' : 'unsupported', reason: null, scannedAt: null, scanner: null, database: { version: null }, summary: summarize([]), vulnerabilities: [] };
    const vulns = r.vulnerabilities as Finding[];
    return { status: r.status, reason: r.reason, scannedAt: r.scannedAt, scanner: r.scanner, database: { version: r.dbVersion }, summary: summarize(vulns), vulnerabilities: vulns };
  }

  /** A project's own policy (null when unset) and the one in force ('*' is the system default). */
  async policy(project: string): Promise<{ policy: SecurityPolicy | null; effective: SecurityPolicy; inherited: boolean }> {
    const own = await this.store.policy(project);
    const fallback = project === '*' ? undefined : await this.store.policy('*');
    const parse = (v: unknown): SecurityPolicy | null => (v === undefined ? null : SecurityPolicySchema.parse(v));
    const policy = parse(own);
    return { policy, effective: policy ?? parse(fallback) ?? SecurityPolicySchema.parse({}), inherited: policy === null };
  }

  /** Sets (or with null removes) a project's policy ('*': the system default), audited in the same transaction. */
  async setPolicy(project: string, policy: SecurityPolicy | null, actor: string, sourceAddress: string | null): Promise<void> {
    await this.store.transaction(async (tx) => {
      await tx.scans.setPolicy(project, policy, this.now());
      await this.deps.audit.recordIn(tx, { actor, action: policy ? 'security.set' : 'security.delete', resource: project === '*' ? 'security:default' : `project:${project}`, project: project === '*' ? null : project, result: 'success', sourceAddress, detail: policy });
    });
    // '*' (the default) reads as `security:*`: every project's verdicts.
    await this.changed([`${POLICY_CHANGED}${project}`]);
  }

  /**
   * Images affected by a vulnerability (its id as the database names it) or holding a
   * vulnerable package, in repositories `mayRead` admits.
   */
  async search(q: { id?: string | undefined; package?: string | undefined }, mayRead: (repo: string) => Promise<boolean>, limit = 2000): Promise<SearchHit[]> {
    const found = await this.store.findDigests({ advisoryId: q.id, package: q.package }, limit);
    const holders = await this.store.holders(found.map((f) => f.digest));
    const readable = new Map<string, boolean>();
    const hits = new Map<string, SearchHit>();
    for (const h of holders) {
      if (!readable.has(h.repository)) readable.set(h.repository, await mayRead(h.repository));
      if (!readable.get(h.repository)) continue;
      for (const f of found) {
        if (f.digest !== h.digest) continue;
        const key = `${h.repository}\0${h.digest}\0${f.advisoryId}`;
        const hit = hits.get(key) ?? { repository: h.repository, digest: h.digest, tags: h.tags, id: f.advisoryId, packages: [], severity: f.severity };
        if (!hit.packages.includes(f.package)) hit.packages.push(f.package);
        hits.set(key, hit);
      }
    }
    return [...hits.values()];
  }

  /** The stored inventory of a scanned manifest (for SBOMs); undefined when there is none. */
  async inventory(digest: Digest): Promise<Inventory | undefined> {
    const r = await this.store.result(digest);
    return r?.inventory ? (r.inventory as Inventory) : undefined;
  }
}
