/**
 * The management API's view of vulnerability scanning: names parsed and checked, missing
 * things as NOT_FOUND problems, report filters, database uploads spooled to a temporary file
 * (a zip needs random access), and search confined to repositories the caller may pull. The
 * rules themselves live in src/scanning (ScanService, the policy).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isRepoName, parseDigest, parseRepoName, projectOf, type Digest, type RepoName } from '../../domain/names.js';
import { ProblemError } from '../../errors/problem.js';
import type { AccessService } from '../../policy/access.js';
import { principalName, type Principal } from '../../policy/principal.js';
import type { Finding } from '../../scanning/match.js';
import { severityRank, type Severity } from '../../scanning/osv.js';
import type { SecurityPolicy } from '../../scanning/policy.js';
import { SBOM_FORMATS, type SbomFormat } from '../../scanning/sbom.js';
import { VulnDbError, type ScanService } from '../../scanning/service.js';
import { osvDocuments } from '../../scanning/vulndb.js';
import type { ScannerRegistry } from '../../scanning/scanners.js';

function repoOr404(name: string): RepoName {
  if (!isRepoName(name)) throw new ProblemError('NOT_FOUND', `repository ${name.slice(0, 300)} does not exist`);
  return parseRepoName(name);
}

function digestOr400(d: string): Digest {
  try {
    return parseDigest(d);
  } catch {
    throw new ProblemError('INVALID', `invalid digest ${d.slice(0, 200)}`);
  }
}

export interface ReportFilter {
  severity?: Severity | undefined;
  fixed?: boolean | undefined;
  package?: string | undefined;
}

export class SecurityApi {
  constructor(
    readonly scans: ScanService,
    private readonly access: AccessService,
    private readonly authEnabled: boolean,
    /** External scanners (their routes are in routes/scanners.ts). */
    readonly scanners: ScannerRegistry,
  ) {}

  async report(repoName: string, digestText: string, filter: ReportFilter) {
    const r = await this.scans.report(repoOr404(repoName), digestOr400(digestText));
    if (!r) throw new ProblemError('NOT_FOUND', `manifest ${digestText.slice(0, 200)} does not exist in ${repoName.slice(0, 300)}`);
    const keep = (v: Finding): boolean =>
      (filter.severity === undefined || severityRank(v.severity) >= severityRank(filter.severity)) &&
      (filter.fixed === undefined || (v.fixedVersion !== null) === filter.fixed) &&
      (filter.package === undefined || v.package === filter.package);
    return { ...r, database: { ...r.database, ...(await this.scans.database.info()), version: r.database.version }, vulnerabilities: r.vulnerabilities.filter(keep) };
  }

  async sbom(repoName: string, digestText: string, format: string | undefined): Promise<{ contentType: string; bytes: Buffer }> {
    const f = format ?? 'spdx';
    if (!(f in SBOM_FORMATS)) throw new ProblemError('INVALID', `format: one of ${Object.keys(SBOM_FORMATS).join(', ')}`);
    const bytes = await this.scans.sbom(repoOr404(repoName), digestOr400(digestText), f as SbomFormat);
    if (!bytes) throw new ProblemError('NOT_FOUND', `no SBOM for ${digestText.slice(0, 200)} in ${repoName.slice(0, 300)}: it does not exist or has not been scanned`);
    return { contentType: SBOM_FORMATS[f as SbomFormat].artifactType, bytes };
  }

  async requestScan(repoName: string, digestText: string): Promise<{ queued: boolean }> {
    const repo = repoOr404(repoName);
    const digest = digestOr400(digestText);
    try {
      return { queued: await this.scans.requestScan(repo, digest) };
    } catch {
      throw new ProblemError('NOT_FOUND', `manifest ${digestText.slice(0, 200)} does not exist in ${repoName.slice(0, 300)}`);
    }
  }

  async policy(project: string) {
    const p = await this.scans.policy(project);
    return { project, policy: p.policy, effective: p.effective, inherited: p.inherited };
  }

  async setPolicy(caller: Principal, project: string, policy: SecurityPolicy | null, address: string | null) {
    await this.scans.setPolicy(project, policy, principalName(caller), address);
    return this.policy(project);
  }

  /** Imports an uploaded folder archive (.zip, .tar.gz, .tar) of OSV JSON files. */
  async importArchive(caller: Principal, body: Readable): Promise<{ imported: number; version: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-vulndb-'));
    try {
      const path = join(dir, 'upload');
      await pipeline(body, createWriteStream(path));
      return await this.scans.database.import(osvDocuments(path), principalName(caller));
    } catch (e) {
      if (e instanceof VulnDbError) throw new ProblemError('INVALID', e.message.slice(0, 500));
      throw e;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async search(caller: Principal, q: { id?: string | undefined; package?: string | undefined }) {
    if (!q.id && !q.package) throw new ProblemError('INVALID', 'give id or package');
    const mayRead = async (repo: string): Promise<boolean> => !this.authEnabled || (await this.access.check(caller, 'pull', { kind: 'repository', name: repo, project: projectOf(repo as RepoName) })).allow;
    return { results: await this.scans.search(q, mayRead) };
  }
}
