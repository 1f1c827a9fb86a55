/**
 * The vulnerability database as a service: importing OSV documents (one transaction, so a bad
 * file changes nothing, with the rescan job enqueued in it), importing the database carried by
 * an artifact of this registry, its version, and the rescan that matches every stored
 * inventory again after a change (matching only: no layer is read again).
 *
 * The rescan pages through stored inventories in digest order; each page's advisories are
 * looked up once per (family, package) and kept across pages (images share most packages),
 * and each page's changed findings commit in one transaction. Only results whose findings
 * changed are announced to the pull gates (a page with many changes drops every verdict).
 *
 * Memory. What a rescan holds while it runs sets its peak more than what it allocates: V8
 * lets the old generation grow to about four times what survived the last full collection
 * before it collects again, and a page's inventories and new findings live long enough to be
 * promoted there. So a page is small (its inventories, findings and their JSON), the advisory
 * cache is bounded in rows (about 2 KB each, parsed), and nothing else is kept across pages:
 * with pages of 200 and a per-entry cache of `affects` verdicts, the rescan of the benchmark
 * held ~50 MB and peaked at 320-365 MB RSS; with this it holds 30-35 MB and peaks at 235-255 MB
 * (bench/results/scan.md).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.js';
import type { Digest, RepoName } from '../domain/names.js';
import type { ScanStore } from '../metadata/scan-store.js';
import type { MetadataStore } from '../metadata/store.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { Inventory } from './inventory.js';
import { familyOf, lookupKeys, matchInventory, type AdvisoryRow } from './match.js';
import { EVERYTHING_CHANGED, findingRows, RESULT_CHANGED, type ImageManifestJson } from './media.js';
import { parseAdvisory } from './osv.js';
import { osvDocuments, type OsvDocument } from './vulndb.js';

export const DB_VERSION = 'db.version';
const DB_UPDATED = 'db.updatedAt';
/** Advisory rows a rescan keeps parsed across pages before it starts over (~2 KB each). */
const RESCAN_CACHE_ROWS = 20_000;
/**
 * Inventories matched per page (and per write transaction): 100 hold ~10 MB of inventories and
 * findings. Pages of 50 held less but committed twice as often, and the rescan took ~25% longer.
 */
export const RESCAN_PAGE = 100;
/** Above this many changed results in a page, the gates drop every verdict instead of each. */
const ANNOUNCE_EACH = 32;

export interface DatabaseInfo {
  version: string | null;
  updatedAt: number | null;
  advisories: number;
}

/** An import that cannot be read (the API maps it to a 400 problem, the CLI to a message). */
export class VulnDbError extends Error {}

export class VulnDatabase {
  constructor(
    private readonly meta: MetadataStore,
    private readonly store: ScanStore,
    private readonly blobs: BlobStore,
    private readonly audit: AuditLog,
    private readonly logger: Logger,
    private readonly now: () => number,
    /** Announces changed results to the pull gates (after commit). */
    private readonly changed: (messages: string[]) => Promise<void>,
  ) {}

  async info(): Promise<DatabaseInfo> {
    const [version, updated, advisories] = await Promise.all([this.store.state(DB_VERSION), this.store.state(DB_UPDATED), this.store.advisoryCount()]);
    return { version: version ?? null, updatedAt: updated ? Number(updated) : null, advisories };
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
      return await this.import(docs, `system:vulndb ${repo}@${digest}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Imports OSV documents in one transaction (all or nothing: the first unreadable file
   * rejects the whole import, naming it), sets the database version, and enqueues the
   * rescan in the same transaction. Verdicts change only when the rescan changes results.
   */
  async import(docs: AsyncIterable<OsvDocument>, actor: string): Promise<{ imported: number; version: string }> {
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
        await this.audit.recordIn(tx, { actor, action: 'vulndb.import', resource: 'vulnerability-db', result: 'success', detail: { imported, version } });
        await tx.jobs.enqueue({ kind: 'scan.rescan', payload: {}, maxAttempts: 3, runAt: now, dedupeKey: 'scan.rescan' }, now);
        return { imported, version };
      },
      { isolation: 'read-committed' },
    );
  }

  /** Enqueues a rescan of every stored inventory; false when one is already queued. */
  async requestRescan(): Promise<boolean> {
    const now = this.now();
    return (await this.meta.jobs.enqueue({ kind: 'scan.rescan', payload: {}, maxAttempts: 3, runAt: now, dedupeKey: 'scan.rescan' }, now)) !== undefined;
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
      const page = await this.store.inventories(after, RESCAN_PAGE);
      if (page.length === 0) break;
      const keysOf = page.map((row) => lookupKeys(row.inventory as Inventory).map((k) => ({ ...k, id: `${k.family}\0${k.name}` })));
      if (cachedRows > RESCAN_CACHE_ROWS) {
        cache.clear();
        cachedRows = 0;
      }
      const missing = new Map<string, { family: string; name: string }>();
      for (const keys of keysOf) for (const k of keys) if (!cache.has(k.id)) missing.set(k.id, k);
      for (const k of missing.keys()) cache.set(k, []);
      for (const row of await this.store.affectedBy([...missing.values()])) {
        const e = row.entry as { ecosystem: string; name: string };
        cache.get(`${familyOf(e.ecosystem)}\0${e.name}`)?.push(row);
        cachedRows++;
      }
      const now = this.now();
      const unchanged: string[] = [];
      const updates: { digest: string; vulnerabilitiesJson: string; findings: ReturnType<typeof findingRows> }[] = [];
      for (const [i, row] of page.entries()) {
        const vulns = matchInventory(row.inventory as Inventory, keysOf[i]!.flatMap((k) => cache.get(k.id) ?? []));
        // Serialized once: compared with the stored text, and written as it is when it differs.
        const json = JSON.stringify(vulns);
        if (json === row.vulnerabilitiesJson) unchanged.push(row.digest);
        else updates.push({ digest: row.digest, vulnerabilitiesJson: json, findings: findingRows(vulns) });
      }
      await this.store.transaction(async (tx) => {
        await tx.scans.markMatched(unchanged, dbVersion, now);
        await tx.scans.setFindings(updates, dbVersion, now);
      }, { isolation: 'read-committed' });
      if (updates.length) await this.changed(updates.length > ANNOUNCE_EACH ? [EVERYTHING_CHANGED] : updates.map((u) => `${RESULT_CHANGED}${u.digest}`));
      changed += updates.length;
      inventories += page.length;
      after = page[page.length - 1]!.digest;
    }
    this.logger.info({ inventories, changed, database: dbVersion }, 'rescan finished');
    return { inventories, changed };
  }
}
