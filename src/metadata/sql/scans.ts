/**
 * The ScanStore over Kysely (both dialects): tables of migrations 0010-scanning and
 * 0013-scanners. `forgetUnheldResults` is also called where manifest rows are deleted (an API
 * delete or garbage collection), so a result lives exactly as long as some repository holds
 * its manifest.
 */
import { SqlEvents } from './events.js';
import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../migrations/index.js';
import type { AdvisoryInput, FindingRow, ScannerRecord, ScanQueries, ScanResultRecord, ScanStatus, ScanStore, ScanTx, StoredAdvisory } from '../scan-store.js';
import type { TransactionOptions } from '../store.js';
import { insertRows } from './bulk-insert.js';
import type { Database } from '../tables.js';
import { SqlAudit } from './auth-store.js';
import { SqlJobs } from './jobs.js';
import { transact } from './store.js';
import { forgetUnheldResults } from './scan-results.js';
import { PreparedQuery } from './prepared.js';

const CHUNK = 400;
const chunks = <T>(xs: T[], n = CHUNK): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

function toAdvisory(r: { id: string; modified: string; aliases: string; summary: string; severity: string; cvss: string | null }): StoredAdvisory {
  return { id: r.id, modified: r.modified, aliases: JSON.parse(r.aliases) as string[], summary: r.summary, severity: r.severity, cvss: r.cvss ? (JSON.parse(r.cvss) as StoredAdvisory['cvss']) : null };
}

function toResult(r: Database['scan_results']): ScanResultRecord {
  return {
    digest: r.digest,
    status: r.status as ScanStatus,
    reason: r.reason,
    inventory: r.inventory ? JSON.parse(r.inventory) : null,
    vulnerabilities: r.vulnerabilities ? (JSON.parse(r.vulnerabilities) as unknown[]) : [],
    dbVersion: r.db_version,
    scanner: r.scanner,
    scannedAt: r.scanned_at === null ? null : Number(r.scanned_at),
    updatedAt: Number(r.updated_at),
    previousStatus: (r.previous_status ?? null) as ScanResultRecord['previousStatus'],
  };
}

/** The columns of a search row of a finding, in insertRows order. */
const FINDING_COLUMNS = ['digest', 'advisory_id', 'package', 'severity'];

// What every scan on push writes and reads (prepared.ts).
const SET_STATUS = new PreparedQuery((db: Kysely<Database>, digest: string, status: string, scanner: string, now: number) =>
  db
    .insertInto('scan_results')
    .values({ digest, status, reason: null, inventory: null, vulnerabilities: '[]', db_version: null, scanner, scanned_at: null, updated_at: now })
    .onConflict((oc) =>
      oc.column('digest').doUpdateSet({
        status,
        reason: null,
        scanner,
        updated_at: now,
        previous_status: sql<string | null>`case when scan_results.status in ('done', 'failed', 'unsupported') then scan_results.status else scan_results.previous_status end`,
      }),
    ),
);
const FORGET_FINDINGS = new PreparedQuery((db: Kysely<Database>, digest: string) => db.deleteFrom('scan_findings').where('digest', '=', digest));
const PUT_RESULT = new PreparedQuery(
  (db: Kysely<Database>, digest: string, status: string, reason: string | null, inventory: string | null, vulnerabilities: string, dbVersion: string | null, scanner: string, scannedAt: number | null, now: number) => {
    const row = { digest, status, reason, inventory, vulnerabilities, db_version: dbVersion, scanner, scanned_at: scannedAt, updated_at: now, previous_status: null };
    return db
      .insertInto('scan_results')
      .values(row)
      .onConflict((oc) => oc.column('digest').doUpdateSet({ ...row }));
  },
);
const STATE = new PreparedQuery((db: Kysely<Database>, name: string) => db.selectFrom('scanning_state').select('value').where('name', '=', name));
const SCANNERS = new PreparedQuery((db: Kysely<Database>) => db.selectFrom('scanners').selectAll().orderBy('name'));

export class SqlScans implements ScanQueries {
  constructor(
    protected readonly db: Kysely<Database>,
    protected readonly dialect: Dialect,
  ) {}

  async putAdvisories(list: AdvisoryInput[], now: number): Promise<void> {
    for (const part of chunks(list, 200)) {
      const ids = part.map((a) => a.id);
      await this.db.deleteFrom('vuln_affected').where('advisory_id', 'in', ids).execute();
      await this.db.deleteFrom('vuln_aliases').where('advisory_id', 'in', ids).execute();
      await this.db.deleteFrom('vuln_advisories').where('id', 'in', ids).execute();
      await this.db
        .insertInto('vuln_advisories')
        .values(part.map((a) => ({ id: a.id, modified: a.modified, aliases: JSON.stringify(a.aliases), summary: a.summary, severity: a.severity, cvss: a.cvss ? JSON.stringify(a.cvss) : null, imported_at: now })))
        .execute();
      const rows = part.flatMap((a) => a.affected.map((e) => ({ advisory_id: a.id, family: e.family, name: e.name, entry: JSON.stringify(e.entry) })));
      for (const r of chunks(rows, 200)) if (r.length) await this.db.insertInto('vuln_affected').values(r).execute();
      const aliases = part.flatMap((a) => [...new Set(a.aliases)].filter((x) => x !== a.id).map((alias) => ({ alias, advisory_id: a.id })));
      for (const r of chunks(aliases, 400)) if (r.length) await this.db.insertInto('vuln_aliases').values(r).execute();
    }
  }

  async advisoryCount(): Promise<number> {
    const r = await this.db.selectFrom('vuln_advisories').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async affectedBy(packages: { family: string; name: string }[]): Promise<{ advisory: StoredAdvisory; entry: unknown }[]> {
    const byFamily = new Map<string, Set<string>>();
    for (const p of packages) {
      if (!byFamily.has(p.family)) byFamily.set(p.family, new Set());
      byFamily.get(p.family)!.add(p.name);
    }
    const out: { advisory: StoredAdvisory; entry: unknown }[] = [];
    for (const [family, names] of byFamily) {
      for (const part of chunks([...names])) {
        const rows = await this.db
          .selectFrom('vuln_affected as f')
          .innerJoin('vuln_advisories as a', 'a.id', 'f.advisory_id')
          .select(['a.id', 'a.modified', 'a.aliases', 'a.summary', 'a.severity', 'a.cvss', 'f.entry'])
          .where('f.family', '=', family)
          .where('f.name', 'in', part)
          .execute();
        for (const r of rows) out.push({ advisory: toAdvisory(r), entry: JSON.parse(r.entry) });
      }
    }
    return out;
  }

  async result(digest: string): Promise<ScanResultRecord | undefined> {
    const r = await this.db.selectFrom('scan_results').selectAll().where('digest', '=', digest).executeTakeFirst();
    return r && toResult(r);
  }

  async results(digests: string[]): Promise<ScanResultRecord[]> {
    const out: ScanResultRecord[] = [];
    for (const part of chunks(digests)) if (part.length) out.push(...(await this.db.selectFrom('scan_results').selectAll().where('digest', 'in', part).execute()).map(toResult));
    return out;
  }

  async putResult(r: Omit<ScanResultRecord, 'updatedAt' | 'previousStatus'>, findings: FindingRow[], now: number): Promise<void> {
    const inventory = r.inventory === null || r.inventory === undefined ? null : JSON.stringify(r.inventory);
    await FORGET_FINDINGS.run(this.db, this.dialect, r.digest);
    await PUT_RESULT.run(this.db, this.dialect, r.digest, r.status, r.reason, inventory, JSON.stringify(r.vulnerabilities), r.dbVersion, r.scanner, r.scannedAt, now);
    await this.insertFindings(r.digest, findings);
  }

  async setStatus(digest: string, status: 'pending' | 'running', scanner: string, now: number): Promise<void> {
    await SET_STATUS.run(this.db, this.dialect, digest, status, scanner, now);
  }

  forgetUnheld(digests: string[]): Promise<void> {
    return forgetUnheldResults(this.db, digests);
  }

  async scanners(): Promise<ScannerRecord[]> {
    const rows = await SCANNERS.execute(this.db, this.dialect);
    return rows.map((r) => ({ name: r.name, url: r.url, registryUrl: r.registry_url, authorizationSealed: r.authorization_sealed, isDefault: Number(r.is_default) === 1, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) }));
  }

  async putScanner(s: Omit<ScannerRecord, 'createdAt' | 'updatedAt'>, now: number): Promise<void> {
    if (s.isDefault) await this.db.updateTable('scanners').set({ is_default: 0 }).where('name', '!=', s.name).execute();
    const row = { url: s.url, registry_url: s.registryUrl, authorization_sealed: s.authorizationSealed, is_default: s.isDefault ? 1 : 0, updated_at: now };
    await this.db
      .insertInto('scanners')
      .values({ name: s.name, ...row, created_at: now })
      .onConflict((oc) => oc.column('name').doUpdateSet(row))
      .execute();
  }

  async deleteScanner(name: string): Promise<boolean> {
    const r = await this.db.deleteFrom('scanners').where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async deleteResults(digests: string[]): Promise<void> {
    for (const part of chunks(digests)) {
      if (!part.length) continue;
      await this.db.deleteFrom('scan_findings').where('digest', 'in', part).execute();
      await this.db.deleteFrom('scan_results').where('digest', 'in', part).execute();
    }
  }

  async inventories(after: string | null, limit: number): Promise<{ digest: string; inventory: unknown; vulnerabilitiesJson: string; scanner: string }[]> {
    let q = this.db.selectFrom('scan_results').select(['digest', 'inventory', 'vulnerabilities', 'scanner']).where('inventory', 'is not', null).orderBy('digest').limit(limit);
    if (after !== null) q = q.where('digest', '>', after);
    return (await q.execute()).map((r) => ({ digest: r.digest, inventory: JSON.parse(r.inventory!), vulnerabilitiesJson: r.vulnerabilities ?? '[]', scanner: r.scanner }));
  }

  async setFindings(updates: { digest: string; vulnerabilitiesJson: string; findings: FindingRow[] }[], dbVersion: string | null, now: number): Promise<void> {
    // Set-based: one delete and a few large inserts of search rows for the whole batch.
    for (const part of chunks(updates.map((u) => u.digest))) if (part.length) await this.db.deleteFrom('scan_findings').where('digest', 'in', part).execute();
    for (const u of updates) await this.db.updateTable('scan_results').set({ vulnerabilities: u.vulnerabilitiesJson, db_version: dbVersion, scanned_at: now, updated_at: now }).where('digest', '=', u.digest).execute();
    // Tens of thousands of rows a page: fixed statements, no query built per row (bulk-insert.ts).
    await insertRows(this.db, this.dialect, 'scan_findings', FINDING_COLUMNS, updates.flatMap((u) => u.findings.map((f) => [u.digest, f.advisoryId, f.package, f.severity])));
  }

  private async insertFindings(digest: string, findings: FindingRow[]): Promise<void> {
    await insertRows(this.db, this.dialect, 'scan_findings', FINDING_COLUMNS, findings.map((f) => [digest, f.advisoryId, f.package, f.severity]));
  }

  async markMatched(digests: string[], dbVersion: string | null, now: number): Promise<void> {
    for (const part of chunks(digests)) if (part.length) await this.db.updateTable('scan_results').set({ db_version: dbVersion, scanned_at: now, updated_at: now }).where('digest', 'in', part).execute();
  }

  async findDigests(q: { advisoryId?: string | undefined; package?: string | undefined }, limit: number): Promise<{ digest: string; advisoryId: string; package: string; severity: string }[]> {
    let s = this.db.selectFrom('scan_findings').select(['digest', 'advisory_id', 'package', 'severity']).orderBy('digest').orderBy('advisory_id').limit(limit);
    const id = q.advisoryId;
    if (id !== undefined) s = s.where((eb) => eb.or([eb('advisory_id', '=', id), eb('advisory_id', 'in', eb.selectFrom('vuln_aliases').select('advisory_id').where('alias', '=', id))]));
    if (q.package !== undefined) s = s.where('package', '=', q.package);
    return (await s.execute()).map((r) => ({ digest: r.digest, advisoryId: r.advisory_id, package: r.package, severity: r.severity }));
  }

  async holders(digests: string[]): Promise<{ digest: string; repository: string; tags: string[] }[]> {
    const out = new Map<string, { digest: string; repository: string; tags: string[] }>();
    for (const part of chunks([...new Set(digests)])) {
      if (!part.length) continue;
      const rows = await this.db
        .selectFrom('manifests as m')
        .innerJoin('repositories as r', 'r.id', 'm.repository_id')
        .leftJoin('tags as t', 't.manifest_id', 'm.id')
        .select(['m.digest', 'r.name', 't.name as tag'])
        .where('m.digest', 'in', part)
        .orderBy('r.name')
        .orderBy('t.name')
        .execute();
      for (const r of rows) {
        const k = `${r.digest}\0${r.name}`;
        if (!out.has(k)) out.set(k, { digest: r.digest, repository: r.name, tags: [] });
        if (r.tag) out.get(k)!.tags.push(r.tag);
      }
    }
    return [...out.values()];
  }

  async policy(project: string): Promise<unknown> {
    const r = await this.db.selectFrom('security_policies').select('policy').where('project', '=', project).executeTakeFirst();
    return r ? JSON.parse(r.policy) : undefined;
  }

  async setPolicy(project: string, policy: unknown, now: number): Promise<void> {
    if (policy === null || policy === undefined) {
      await this.db.deleteFrom('security_policies').where('project', '=', project).execute();
      return;
    }
    const json = JSON.stringify(policy);
    await this.db
      .insertInto('security_policies')
      .values({ project, policy: json, updated_at: now })
      .onConflict((oc) => oc.column('project').doUpdateSet({ policy: json, updated_at: now }))
      .execute();
  }

  async state(name: string): Promise<string | undefined> {
    return (await STATE.executeTakeFirst(this.db, this.dialect, name))?.value;
  }

  async setState(name: string, value: string): Promise<void> {
    await this.db
      .insertInto('scanning_state')
      .values({ name, value })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value }))
      .execute();
  }

  async bump(name: string): Promise<number> {
    const r = await this.db
      .insertInto('scanning_state')
      .values({ name, value: '1' })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value: sql<string>`cast(cast(scanning_state.value as bigint) + 1 as text)` }))
      .returning('value')
      .executeTakeFirstOrThrow();
    return Number(r.value);
  }
}

export class SqlScanStore extends SqlScans implements ScanStore {
  constructor(db: Kysely<Database>, dialect: Dialect) {
    super(db, dialect);
  }

  transaction<T>(fn: (tx: ScanTx) => Promise<T>, options: TransactionOptions = { isolation: 'serializable' }): Promise<T> {
    return transact(this.db, this.dialect, options, (trx) => fn({ scans: new SqlScans(trx, this.dialect), audit: new SqlAudit(trx, this.dialect), jobs: new SqlJobs(trx, this.dialect), events: new SqlEvents(trx, this.dialect) }));
  }
}
