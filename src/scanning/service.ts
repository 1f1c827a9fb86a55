/**
 * Scanning as a service: scanning one image manifest (read its layers once, record the
 * inventory and its findings), rescanning every stored inventory when the database changes
 * (matching only: no layer is read again), importing the OSV database (one transaction, so a
 * bad file changes nothing), and reading results for the API, the CLI and the read gate.
 *
 * A result is stored with a `scan.completed` audit entry in the same transaction; the event
 * outbox, when it exists, belongs in that transaction too (see `complete`). Every stored
 * result or database change bumps the `gate.version` counter, which read-gate caches in
 * every process compare (see gate.ts).
 */
import { emitEvent } from '../events/emit.js';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.js';
import { projectOf, type Digest, type RepoName } from '../domain/names.js';
import type { ScanResultRecord, ScanStore } from '../metadata/scan-store.js';
import type { MetadataQueries, MetadataStore } from '../metadata/store.js';
import type { RegistryChange } from '../policy/registry-changes.js';
import type { BlobStore } from '../storage/blob-store.js';
import { probeFor } from './binaries.js';
import { readInventory, wantFile, type Inventory } from './inventory.js';
import { walkLayers } from './layers.js';
import { familyOf, lookupKeys, matchInventory, summarize, type AdvisoryRow, type Finding } from './match.js';
import { parseAdvisory, type Severity } from './osv.js';
import { SBOM_FORMATS, sbomBytes, type SbomFormat } from './sbom.js';
import { SecurityPolicySchema, type SecurityPolicy } from './policy.js';
import { osvDocuments, type OsvDocument } from './vulndb.js';

export const SCANNER = 'berth';
export const GATE_VERSION = 'gate.version';
const DB_VERSION = 'db.version';
const DB_UPDATED = 'db.updatedAt';
/** Advisory rows a rescan keeps parsed across pages before it starts over. */
const RESCAN_CACHE_ROWS = 300_000;

const IMAGE_MANIFESTS = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);
const IMAGE_CONFIGS = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);
export const INDEX_MANIFESTS = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

/**
 * Whether a pushed manifest is an image worth scanning: not an index, SBOM, signature or other
 * artifact. (The registry records an image's artifact type as its config media type.)
 */
export function isScannableImage(m: { mediaType: string; artifactType?: string | null; subject?: string | null }): boolean {
  return IMAGE_MANIFESTS.has(m.mediaType) && (!m.artifactType || IMAGE_CONFIGS.has(m.artifactType)) && !m.subject;
}

/** Whether a manifest is an artifact (SBOM, signature, attestation ...) rather than an image or index. */
export function isArtifact(m: { mediaType: string; artifactType?: string | null; subject?: string | null }): boolean {
  return !!m.subject || (!!m.artifactType && !IMAGE_CONFIGS.has(m.artifactType));
}

export interface DatabaseInfo {
  version: string | null;
  updatedAt: number | null;
  advisories: number;
}

export interface ScanReport {
  status: 'pending' | 'running' | 'done' | 'failed' | 'unsupported';
  reason: string | null;
  scannedAt: number | null;
  database: { version: string | null };
  summary: Record<Severity, number>;
  vulnerabilities: Finding[];
  /** For an index: the report of each platform's manifest. */
  manifests?: { digest: string; status: string }[];
}

interface ImageManifestJson {
  mediaType?: string;
  config?: { mediaType?: string; digest?: string };
  layers?: { mediaType?: string; digest?: string; size?: number }[];
  manifests?: { digest?: string; mediaType?: string }[];
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

/** Search rows of findings: one per advisory and package (aliases are the database's, see vuln_aliases). */
function findingRows(vulns: Finding[]): { advisoryId: string; package: string; severity: string }[] {
  return vulns.map((v) => ({ advisoryId: v.id, package: v.package, severity: v.severity }));
}

export class ScanService {
  constructor(
    private readonly meta: MetadataStore,
    readonly store: ScanStore,
    private readonly blobs: BlobStore,
    private readonly audit: AuditLog,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    /** Told after this process changed results or policies (drops the read gate's cache). */
    private readonly changed: () => void = () => {},
    /** Attaches an SBOM to the image as an OCI 1.1 referrer (wired by main.ts over the registry). */
    private readonly attach?: (repo: RepoName, subject: { digest: string; mediaType: string; size: number }, artifactType: string, bytes: Buffer, annotations: Record<string, string>) => Promise<unknown>,
  ) {}

  /**
   * The RegistryChangeListener: an image push enqueues its scan, and a push into the database
   * repository (`databaseRepository`) its import, in the push's transaction.
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
      await tx.jobs.enqueue({ kind: 'scan.manifest', payload: { repository: change.repo, digest: change.digest }, maxAttempts: 3, runAt: now, dedupeKey: `scan:${change.digest}` }, now);
    };
  }

  /**
   * Imports the OSV database carried by an artifact of this registry: every layer a .zip,
   * .tar.gz or .tar of OSV JSON files (spooled to a temporary file: a zip needs random access).
   */
  async importFromArtifact(repo: RepoName, digest: Digest): Promise<{ imported: number; version: string }> {
    const manifest = await this.meta.manifests.get(repo, { kind: 'digest', digest });
    if (!manifest) throw new VulnDbError(`manifest ${digest} is not in ${repo}`);
    const layers = ((JSON.parse(manifest.content.toString('utf8')) as ImageManifestJson).layers ?? []).map((l) => l.digest as Digest);
    if (layers.length === 0) throw new VulnDbError(`${repo}@${digest} has no layers to import`);
    const dir = await mkdtemp(join(tmpdir(), 'berth-vulndb-'));
    try {
      const paths: string[] = [];
      for (const [i, layer] of layers.entries()) {
        const path = join(dir, `layer-${i}`);
        await pipeline(await this.blobs.read(layer), createWriteStream(path));
        paths.push(path);
      }
      const docs = (async function* () {
        for (const p of paths) yield* osvDocuments(p);
      })();
      return await this.importDatabase(docs, `system:vulndb ${repo}@${digest}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async databaseInfo(): Promise<DatabaseInfo> {
    const [version, updated, advisories] = await Promise.all([this.store.state(DB_VERSION), this.store.state(DB_UPDATED), this.store.advisoryCount()]);
    return { version: version ?? null, updatedAt: updated ? Number(updated) : null, advisories };
  }

  /** Matches an inventory against the stored database. */
  async match(inventory: Inventory): Promise<Finding[]> {
    return matchInventory(inventory, await this.store.affectedBy(lookupKeys(inventory)));
  }

  /**
   * Scans `digest` of `repo`: reads the layers, stores inventory and findings. Never throws
   * for a bad image: the result is `failed` with the reason (the push stays).
   */
  async scan(repo: RepoName, digest: Digest, signal?: AbortSignal): Promise<ScanResultRecord> {
    const manifest = await this.meta.manifests.get(repo, { kind: 'digest', digest });
    if (!manifest) throw new Error(`manifest ${digest} is not in ${repo}`);
    if (!isScannableImage(manifest)) return this.complete(repo, { digest, status: 'unsupported', reason: `not an image manifest (${manifest.artifactType ?? manifest.mediaType})`, inventory: null, vulnerabilities: [] });
    let json: ImageManifestJson;
    try {
      json = JSON.parse(manifest.content.toString('utf8')) as ImageManifestJson;
    } catch {
      return this.complete(repo, { digest, status: 'failed', reason: 'the manifest is not JSON', inventory: null, vulnerabilities: [] });
    }
    if (json.config?.mediaType && !IMAGE_CONFIGS.has(json.config.mediaType)) {
      return this.complete(repo, { digest, status: 'unsupported', reason: `not a container image (config ${json.config.mediaType})`, inventory: null, vulnerabilities: [] });
    }
    const started = this.now();
    await this.store.putResult({ digest, status: 'running', reason: null, inventory: null, vulnerabilities: [], dbVersion: null, scanner: SCANNER, scannedAt: null }, [], started);
    try {
      const layers = (json.layers ?? []).map((l) => ({ open: () => this.blobs.read(l.digest as Digest, undefined, signal) }));
      const walked = await walkLayers(layers, (path) => wantFile(path), signal, probeFor);
      const inventory = readInventory(walked.files);
      const vulnerabilities = await this.match(inventory);
      this.logger.info({ repo, digest, packages: inventory.packages.length, vulnerabilities: vulnerabilities.length, entries: walked.entries, ms: this.now() - started }, 'scan finished');
      // SBOMs first, so a result that reads `done` has its referrers in place.
      await this.attachSboms(repo, manifest, inventory);
      return await this.complete(repo, { digest, status: 'done', reason: null, inventory, vulnerabilities });
    } catch (e) {
      if (signal?.aborted) throw e;
      const reason = e instanceof Error ? e.message : String(e);
      this.logger.warn({ repo, digest, reason }, 'scan failed');
      return this.complete(repo, { digest, status: 'failed', reason: `could not read the image's layers: ${reason}`, inventory: null, vulnerabilities: [] });
    }
  }

  /** Publishes both SBOMs as referrers of the image; a refusal (a quota, say) is logged, not fatal. */
  private async attachSboms(repo: RepoName, manifest: { digest: Digest; mediaType: string; size: number; pushedAt: number }, inventory: Inventory): Promise<void> {
    if (!this.attach) return;
    for (const format of Object.keys(SBOM_FORMATS) as SbomFormat[]) {
      try {
        const bytes = sbomBytes(format, { repository: repo, digest: manifest.digest, createdAt: manifest.pushedAt }, inventory);
        await this.attach(repo, manifest, SBOM_FORMATS[format].artifactType, bytes, { 'org.opencontainers.image.created': new Date(manifest.pushedAt).toISOString(), 'dev.berth.sbom.format': format });
      } catch (e) {
        this.logger.warn({ repo, digest: manifest.digest, format, err: e instanceof Error ? e.message : String(e) }, 'could not attach the SBOM');
      }
    }
  }

  /** The SBOM of a scanned image manifest of `repo`; undefined when it has no inventory (yet). */
  async sbom(repo: RepoName, digest: Digest, format: SbomFormat): Promise<Buffer | undefined> {
    const manifest = await this.meta.manifests.get(repo, { kind: 'digest', digest });
    const inventory = manifest && (await this.inventory(digest));
    return inventory && sbomBytes(format, { repository: repo, digest, createdAt: manifest.pushedAt }, inventory);
  }

  /** Stores a result with its `scan.completed` audit entry and outbox event in one transaction. */
  private async complete(repo: RepoName | null, r: { digest: string; status: ScanResultRecord['status']; reason: string | null; inventory: Inventory | null; vulnerabilities: Finding[] }): Promise<ScanResultRecord> {
    const now = this.now();
    const dbVersion = (await this.store.state(DB_VERSION)) ?? null;
    const record = { ...r, dbVersion, scanner: SCANNER, scannedAt: now };
    await this.store.transaction(async (tx) => {
      await tx.scans.putResult(record, findingRows(r.vulnerabilities), now);
      await tx.scans.bump(GATE_VERSION);
      await this.audit.recordIn(tx, {
        actor: 'system:scanner',
        action: 'scan.completed',
        resource: repo ? `${repo}@${r.digest}` : r.digest,
        project: repo ? projectOf(repo) : null,
        result: r.status === 'failed' ? 'failure' : 'success',
        detail: { digest: r.digest, status: r.status, reason: r.reason, database: dbVersion, summary: summarize(r.vulnerabilities) },
      });
      await emitEvent(tx, {
        type: 'scan.completed',
        project: repo ? projectOf(repo) : null,
        repository: repo,
        actor: 'system:scanner',
        data: { digest: r.digest, status: r.status, reason: r.reason, database: dbVersion, summary: summarize(r.vulnerabilities) },
      });
    });
    this.changed();
    return { ...record, updatedAt: now };
  }

  /**
   * Matches every stored inventory again (after a database change). Reads no layer; pages
   * through results so memory stays bounded. Returns how many inventories were matched.
   */
  async rescanAll(signal?: AbortSignal): Promise<{ inventories: number; changed: number }> {
    const dbVersion = (await this.store.state(DB_VERSION)) ?? null;
    // Advisory rows by (family, name), kept across pages (inventories share most packages);
    // dropped whole when they grow past RESCAN_CACHE_ROWS, to bound memory.
    const cache = new Map<string, AdvisoryRow[]>();
    let cachedRows = 0;
    let after: string | null = null;
    let inventories = 0;
    let changed = 0;
    for (;;) {
      signal?.throwIfAborted();
      const page = await this.store.inventories(after, 200);
      if (page.length === 0) break;
      const missing = new Map<string, { family: string; name: string }>();
      for (const row of page) for (const k of lookupKeys(row.inventory as Inventory)) if (!cache.has(`${k.family}\0${k.name}`)) missing.set(`${k.family}\0${k.name}`, k);
      if (cachedRows > RESCAN_CACHE_ROWS) {
        cache.clear();
        cachedRows = 0;
        for (const row of page) for (const k of lookupKeys(row.inventory as Inventory)) missing.set(`${k.family}\0${k.name}`, k);
      }
      for (const k of missing.keys()) cache.set(k, []);
      for (const row of await this.store.affectedBy([...missing.values()])) {
        const e = row.entry as { ecosystem: string; name: string };
        cache.get(`${familyOf(e.ecosystem)}\0${e.name}`)?.push(row);
        cachedRows++;
      }
      const now = this.now();
      const unchanged: string[] = [];
      const updates: { digest: string; vulns: Finding[] }[] = [];
      for (const row of page) {
        const inv = row.inventory as Inventory;
        const vulns = matchInventory(inv, lookupKeys(inv).flatMap((k) => cache.get(`${k.family}\0${k.name}`) ?? []));
        if (JSON.stringify(row.vulnerabilities) === JSON.stringify(vulns)) unchanged.push(row.digest);
        else updates.push({ digest: row.digest, vulns });
      }
      await this.store.transaction(async (tx) => {
        await tx.scans.markMatched(unchanged, dbVersion, now);
        for (const u of updates) await tx.scans.setFindings(u.digest, u.vulns, findingRows(u.vulns), dbVersion, now);
        await tx.scans.bump(GATE_VERSION);
      }, { isolation: 'read-committed' });
      this.changed();
      changed += updates.length;
      inventories += page.length;
      after = page[page.length - 1]!.digest;
    }
    this.logger.info({ inventories, changed, database: dbVersion }, 'rescan finished');
    return { inventories, changed };
  }

  /**
   * Imports OSV documents in one transaction (all or nothing: the first unreadable file
   * rejects the whole import, naming it), sets the database version, and enqueues the
   * rescan in the same transaction.
   */
  async importDatabase(docs: AsyncIterable<OsvDocument>, actor: string): Promise<{ imported: number; version: string }> {
    const now = this.now();
    return this.store.transaction(
      async (tx) => {
        let batch: Parameters<typeof tx.scans.putAdvisories>[0] = [];
        let imported = 0;
        const it = docs[Symbol.asyncIterator]();
        for (;;) {
          let next: IteratorResult<OsvDocument>;
          try {
            next = await it.next();
          } catch (e) {
            // The source itself is unreadable (not an archive, a truncated one).
            throw new VulnDbError(e instanceof Error ? e.message : String(e));
          }
          if (next.done) break;
          const doc = next.value;
          let a;
          try {
            a = parseAdvisory(JSON.parse(doc.text));
          } catch (e) {
            throw new VulnDbError(`${doc.name}: ${e instanceof Error ? e.message : String(e)}`);
          }
          batch.push({ id: a.id, modified: a.modified, aliases: a.aliases, summary: a.summary, severity: a.severity, cvss: a.cvss, affected: a.affected.map((e) => ({ family: familyOf(e.ecosystem), name: e.name, entry: e })) });
          if (batch.length >= 500) {
            await tx.scans.putAdvisories(batch, now);
            imported += batch.length;
            batch = [];
          }
        }
        await tx.scans.putAdvisories(batch, now);
        imported += batch.length;
        if (imported === 0) throw new VulnDbError('no OSV JSON files found');
        const generation = await tx.scans.bump('db.generation');
        const version = `osv-${new Date(now).toISOString().slice(0, 10)}-${generation}`;
        await tx.scans.setState(DB_VERSION, version);
        await tx.scans.setState(DB_UPDATED, String(now));
        await tx.scans.bump(GATE_VERSION);
        await this.audit.recordIn(tx, { actor, action: 'vulndb.import', resource: 'vulnerability-db', result: 'success', detail: { imported, version } });
        await tx.jobs.enqueue({ kind: 'scan.rescan', payload: {}, maxAttempts: 3, runAt: now, dedupeKey: 'scan.rescan' }, now);
        return { imported, version };
      },
      { isolation: 'read-committed' },
    ).finally(() => this.changed());
  }

  /** The report of a manifest of `repo` (an index: its platforms' results together). */
  async report(repo: RepoName, digest: Digest): Promise<ScanReport | undefined> {
    const manifest = await this.meta.manifests.get(repo, { kind: 'digest', digest });
    if (!manifest) return undefined;
    if (INDEX_MANIFESTS.has(manifest.mediaType)) {
      const children = ((JSON.parse(manifest.content.toString('utf8')) as ImageManifestJson).manifests ?? []).map((m) => m.digest).filter((d): d is string => typeof d === 'string');
      const results = new Map((await this.store.results(children)).map((r) => [r.digest, r]));
      const parts = children.map((d) => ({ digest: d, status: results.get(d)?.status ?? 'pending' }));
      const vulns = new Map<string, Finding>();
      for (const r of results.values()) for (const v of r.vulnerabilities as Finding[]) vulns.set(`${v.id}\0${v.ecosystem}\0${v.package}\0${v.installedVersion}`, v);
      const statuses = parts.filter((p) => p.status !== 'unsupported').map((p) => p.status);
      const status = statuses.length === 0 ? 'unsupported' : (['failed', 'running', 'pending'].find((s) => statuses.includes(s as never)) ?? 'done');
      const all = [...vulns.values()];
      return { status: status as ScanReport['status'], reason: null, scannedAt: Math.max(0, ...[...results.values()].map((r) => r.scannedAt ?? 0)) || null, database: { version: [...results.values()][0]?.dbVersion ?? null }, summary: summarize(all), vulnerabilities: all, manifests: parts };
    }
    const r = await this.store.result(digest);
    if (!r) return { status: isScannableImage(manifest) ? 'pending' : 'unsupported', reason: null, scannedAt: null, database: { version: null }, summary: summarize([]), vulnerabilities: [] };
    const vulns = r.vulnerabilities as Finding[];
    return { status: r.status, reason: r.reason, scannedAt: r.scannedAt, database: { version: r.dbVersion }, summary: summarize(vulns), vulnerabilities: vulns };
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
      await tx.scans.bump(GATE_VERSION);
      await this.audit.recordIn(tx, { actor, action: policy ? 'security.set' : 'security.delete', resource: project === '*' ? 'security:default' : `project:${project}`, project: project === '*' ? null : project, result: 'success', sourceAddress, detail: policy });
    });
    this.changed();
  }

  /** Enqueues a scan of `digest` of `repo` now (on demand); false when one is already queued. */
  async requestScan(repo: RepoName, digest: Digest): Promise<boolean> {
    const manifest = await this.meta.manifests.get(repo, { kind: 'digest', digest });
    if (!manifest) throw new Error('unknown manifest');
    const now = this.now();
    const digests = INDEX_MANIFESTS.has(manifest.mediaType) ? ((JSON.parse(manifest.content.toString('utf8')) as ImageManifestJson).manifests ?? []).map((m) => m.digest as Digest) : [digest];
    let queued = false;
    for (const d of digests) {
      const id = await this.meta.jobs.enqueue({ kind: 'scan.manifest', payload: { repository: repo, digest: d }, maxAttempts: 3, runAt: now, dedupeKey: `scan:${d}` }, now);
      queued ||= id !== undefined;
    }
    return queued;
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

  /** Enqueues a rescan of every stored inventory. */
  async requestRescan(): Promise<boolean> {
    const now = this.now();
    return (await this.meta.jobs.enqueue({ kind: 'scan.rescan', payload: {}, maxAttempts: 3, runAt: now, dedupeKey: 'scan.rescan' }, now)) !== undefined;
  }

  /** The stored inventory of a scanned manifest (for SBOMs); undefined when there is none. */
  async inventory(digest: Digest): Promise<Inventory | undefined> {
    const r = await this.store.result(digest);
    return r?.inventory ? (r.inventory as Inventory) : undefined;
  }
}

/** An import that cannot be read (the API maps it to a 400 problem, the CLI to a message). */
export class VulnDbError extends Error {}
