/**
 * Vulnerability scanning over /api/v1: per-project security policies (and the system
 * default), the vulnerability database (status, import, rescan), scan reports and on-demand
 * scans of a manifest, its SBOM, and search by vulnerability or package.
 */
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { ProblemError } from '../../errors/problem.js';
import { SEVERITIES } from '../../scanning/osv.js';
import { SecurityPolicySchema } from '../../scanning/policy.js';
import { projectParam } from '../lifecycle/common.js';
import { body, params, projectResource, query, queryOf, repositoryResource, systemResource, type ApiRoute } from '../route.js';
import { principalName } from '../../policy/principal.js';

const Severity = z.enum(SEVERITIES);
const PolicyView = z.object({ project: z.string(), policy: SecurityPolicySchema.nullable(), effective: SecurityPolicySchema, inherited: z.boolean() });
const DatabaseView = z.object({ version: z.string().nullable(), updatedAt: z.number().nullable(), advisories: z.number() });
const Vulnerability = z.object({
  id: z.string(),
  aliases: z.array(z.string()),
  summary: z.string(),
  package: z.string(),
  ecosystem: z.string(),
  installedVersion: z.string(),
  fixedVersion: z.string().nullable(),
  severity: Severity,
  cvss: z.object({ score: z.number(), vector: z.string() }).nullable(),
});
const Report = z.object({
  status: z.enum(['unscanned', 'pending', 'running', 'done', 'failed', 'unsupported']),
  scanner: z.string().nullable(),
  reason: z.string().nullable(),
  scannedAt: z.number().nullable(),
  database: z.object({ version: z.string().nullable(), updatedAt: z.number().nullable(), advisories: z.number() }),
  summary: z.record(Severity, z.number()),
  vulnerabilities: z.array(Vulnerability),
  manifests: z.array(z.object({ digest: z.string(), status: z.string() })).optional(),
});
const Imported = z.object({ imported: z.number(), version: z.string() });
const Queued = z.object({ queued: z.boolean() });
const SearchResults = z.object({ results: z.array(z.object({ repository: z.string(), digest: z.string(), tags: z.array(z.string()), id: z.string(), packages: z.array(z.string()), severity: z.string() })) });
const ReportQuery = queryOf({ severity: true, fixed: true, package: true });

function reportFilter(q: Record<string, string | undefined>) {
  const severity = q.severity === undefined ? undefined : Severity.safeParse(q.severity);
  if (severity && !severity.success) throw new ProblemError('INVALID', `severity: one of ${SEVERITIES.join(', ')}`);
  if (q.fixed !== undefined && q.fixed !== 'true' && q.fixed !== 'false') throw new ProblemError('INVALID', 'fixed: true or false');
  return { severity: severity?.data, fixed: q.fixed === undefined ? undefined : q.fixed === 'true', package: q.package || undefined };
}

export const securityRoutes: ApiRoute[] = [
  {
    method: 'GET',
    url: '/projects/:name/security',
    action: 'project.read',
    resource: projectResource,
    summary: "A project's security policy (null: it follows the system default) and the policy in force.",
    body: null,
    query: null,
    response: PolicyView,
    audit: null,
    async handle(request, _reply, s) {
      return s.security.policy(projectParam(request.params));
    },
  },
  {
    method: 'PUT',
    url: '/projects/:name/security',
    action: 'policies.manage',
    resource: projectResource,
    summary: "Set a project's security policy: block pulls at or above a severity, allowlist, refuse unscanned images.",
    body: SecurityPolicySchema,
    query: null,
    response: PolicyView,
    audit: 'security.set',
    async handle(request, _reply, s) {
      return s.security.setPolicy(request.principal, projectParam(request.params), body(SecurityPolicySchema, request), request.ip);
    },
  },
  {
    method: 'DELETE',
    url: '/projects/:name/security',
    action: 'policies.manage',
    resource: projectResource,
    summary: "Remove a project's security policy (the system default applies again).",
    body: null,
    query: null,
    response: null,
    audit: 'security.delete',
    async handle(request, reply, s) {
      await s.security.setPolicy(request.principal, projectParam(request.params), null, request.ip);
      return reply.code(204).send();
    },
  },
  {
    method: 'GET',
    url: '/security/default',
    action: 'signedIn',
    resource: systemResource,
    summary: 'The system default security policy (projects without their own follow it).',
    body: null,
    query: null,
    response: PolicyView,
    audit: null,
    async handle(_request, _reply, s) {
      return s.security.policy('*');
    },
  },
  {
    method: 'PUT',
    url: '/security/default',
    action: 'system.manage',
    resource: systemResource,
    summary: 'Set the system default security policy.',
    body: SecurityPolicySchema,
    query: null,
    response: PolicyView,
    audit: 'security.set',
    async handle(request, _reply, s) {
      return s.security.setPolicy(request.principal, '*', body(SecurityPolicySchema, request), request.ip);
    },
  },
  {
    method: 'GET',
    url: '/vulnerability-db',
    action: 'signedIn',
    resource: systemResource,
    summary: 'The vulnerability database: its version, when it was imported, how many advisories it holds.',
    body: null,
    query: null,
    response: DatabaseView,
    audit: null,
    async handle(_request, _reply, s) {
      return s.security.scans.database.info();
    },
  },
  {
    method: 'POST',
    url: '/vulnerability-db',
    action: 'system.manage',
    resource: systemResource,
    summary: 'Import OSV advisories: the body is a .zip, .tar.gz or .tar of OSV JSON files (all or nothing); every stored inventory is then matched again.',
    body: null,
    query: null,
    response: Imported,
    status: 201,
    audit: 'vulndb.import',
    async handle(request, reply, s) {
      if (!request.body || typeof (request.body as Readable).pipe !== 'function') throw new ProblemError('UNSUPPORTED_MEDIA_TYPE', 'send the archive as application/zip, application/gzip or application/x-tar');
      return reply.code(201).send(await s.security.importArchive(request.principal, request.body as Readable));
    },
  },
  {
    method: 'POST',
    url: '/vulnerability-db/rescan',
    action: 'system.manage',
    resource: systemResource,
    summary: 'Match every stored inventory against the database again (no layer is read).',
    body: null,
    query: null,
    response: Queued,
    status: 202,
    audit: 'vulndb.rescan',
    async handle(request, reply, s) {
      const queued = await s.security.scans.database.requestRescan();
      s.audit.record({ actor: principalName(request.principal), action: 'vulndb.rescan', resource: 'vulnerability-db', result: 'success', sourceAddress: request.ip });
      return reply.code(202).send({ queued });
    },
  },
  {
    method: 'GET',
    url: '/repositories/:repo/manifests/:digest/vulnerabilities',
    action: 'pull',
    resource: repositoryResource,
    summary: "A manifest's scan status and vulnerabilities (an index: its platforms together); filter by severity (at or above), fixed, package.",
    body: null,
    query: ReportQuery,
    response: Report,
    audit: null,
    async handle(request, _reply, s) {
      const p = params(request);
      return s.security.report(p.repo!, p.digest!, reportFilter(query(request)));
    },
  },
  {
    method: 'GET',
    url: '/repositories/:repo/manifests/:digest/sbom',
    action: 'pull',
    resource: repositoryResource,
    summary: "A scanned image's SBOM: SPDX 2.3 JSON (format=spdx, the default) or CycloneDX 1.6 JSON (format=cyclonedx).",
    body: null,
    query: queryOf({ format: true }),
    response: z.record(z.string(), z.unknown()),
    audit: null,
    async handle(request, reply, s) {
      const p = params(request);
      const sbom = await s.security.sbom(p.repo!, p.digest!, query(request).format);
      return reply.type(sbom.contentType).send(sbom.bytes);
    },
  },
  {
    method: 'POST',
    url: '/repositories/:repo/manifests/:digest/scan',
    action: 'push',
    resource: repositoryResource,
    summary: 'Scan a manifest (each platform of an index) again now, through the job queue.',
    body: null,
    query: null,
    response: Queued,
    status: 202,
    audit: 'scan.request',
    async handle(request, reply, s) {
      const p = params(request);
      const r = await s.security.requestScan(p.repo!, p.digest!);
      s.audit.record({ actor: principalName(request.principal), action: 'scan.request', resource: `${p.repo}@${p.digest}`, result: 'success', sourceAddress: request.ip });
      return reply.code(202).send(r);
    },
  },
  {
    method: 'GET',
    url: '/vulnerabilities/search',
    action: 'signedIn',
    resource: systemResource,
    summary: 'Images affected by a vulnerability (id or alias, e.g. a CVE) or holding a vulnerable package, in repositories the caller may pull.',
    body: null,
    query: queryOf({ id: true, package: true }),
    response: SearchResults,
    audit: null,
    async handle(request, _reply, s) {
      const q = query(request);
      return s.security.search(request.principal, { id: q.id || undefined, package: q.package || undefined });
    },
  },
];
