/**
 * How identities from outside reach a project: the groups of identity providers that map to
 * its roles (`auth.groupMappings`, read-only here), and its trust policies (keyless CI login): which OIDC issuer's ID tokens, for which
 * audience and with which claims, may act on the project, with which repository actions.
 * A policy must name at least one claim: trusting every job of a shared issuer (gitlab.com,
 * GitHub Actions) would let any of their users push here.
 */
import type { AuditLog } from '../../audit/audit-log.js';
import type { WorkloadIdentity } from '../../auth/workload-identity.js';
import type { GroupMapping } from '../../auth/group-sync.js';
import { ProblemError } from '../../errors/problem.js';
import type { AuthStore, TrustPolicyRecord } from '../../metadata/auth-store.js';
import { principalName, type Principal } from '../../policy/principal.js';
import { isRepositoryAction } from '../../policy/roles.js';

export interface TrustPolicyView {
  id: number;
  issuer: string;
  audience: string;
  claims: Record<string, string>;
  permissions: string[];
  createdBy: string;
  createdAt: string;
}

export interface TrustPolicyInput {
  issuer: string;
  audience: string;
  claims: Record<string, string>;
  permissions: string[];
}

function view(p: TrustPolicyRecord): TrustPolicyView {
  return { id: p.id, issuer: p.issuer, audience: p.audience, claims: p.claims, permissions: p.permissions, createdBy: p.createdBy, createdAt: new Date(p.createdAt).toISOString() };
}

export class TrustPolicyService {
  constructor(
    private readonly store: AuthStore,
    private readonly audit: AuditLog,
    private readonly workload: WorkloadIdentity | undefined,
    private readonly options: { allowHttpIssuers: boolean; groupMappings: GroupMapping[]; adminGroups: string[] },
    private readonly now: () => number = Date.now,
  ) {}

  /** The groups that grant roles in `project` (and whether each also makes system admins). */
  async groupMappings(project: string): Promise<{ group: string; role: GroupMapping['role']; admin: boolean }[]> {
    if (!(await this.store.projects.get(project))) throw new ProblemError('NOT_FOUND', `project ${project} does not exist`);
    return this.options.groupMappings.filter((m) => m.project === project).map((m) => ({ group: m.group, role: m.role, admin: this.options.adminGroups.includes(m.group) }));
  }

  async list(project: string): Promise<TrustPolicyView[]> {
    if (!(await this.store.projects.get(project))) throw new ProblemError('NOT_FOUND', `project ${project} does not exist`);
    return (await this.store.trustPolicies.list(project)).map(view);
  }

  async create(caller: Principal, project: string, input: TrustPolicyInput, address: string): Promise<TrustPolicyView> {
    let url: URL;
    try {
      url = new URL(input.issuer);
    } catch {
      throw new ProblemError('INVALID', 'issuer must be the issuer URL exactly as its tokens name it (https://...)');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.options.allowHttpIssuers)) throw new ProblemError('INVALID', 'issuer must be an https URL');
    if (url.search || url.hash || url.username) throw new ProblemError('INVALID', 'issuer must not have a query, fragment or credentials');
    const claims = Object.entries(input.claims);
    if (claims.length === 0) throw new ProblemError('INVALID', 'claims must name at least one claim (for example project_path or repository): an issuer alone is shared by every job it serves');
    for (const [k, v] of claims) if (['iss', 'aud', 'exp', 'iat', 'nbf'].includes(k) || v === '' || /^\*+$/.test(v)) throw new ProblemError('INVALID', `claim ${k} cannot be required here${['iss', 'aud', 'exp', 'iat', 'nbf'].includes(k) ? ' (it is checked anyway)' : ': give a value that is not only *'}`);
    const bad = input.permissions.filter((p) => !isRepositoryAction(p));
    if (bad.length > 0 || input.permissions.length === 0) throw new ProblemError('INVALID', `permissions must be a non-empty list of pull, push, delete${bad.length ? ` (not ${bad.join(', ')})` : ''}`);
    const record = await this.store.transaction(async (tx) => {
      if (!(await tx.projects.get(project))) throw new ProblemError('NOT_FOUND', `project ${project} does not exist`);
      const r = await tx.trustPolicies.insert({ project, issuer: input.issuer, audience: input.audience, claims: input.claims, permissions: [...new Set(input.permissions)], createdBy: principalName(caller), createdAt: this.now() });
      await this.audit.recordIn(tx, { actor: principalName(caller), action: 'trust-policy.create', resource: `trust-policy:${r.id}`, project, result: 'success', sourceAddress: address, detail: { issuer: r.issuer, audience: r.audience, claims: r.claims, permissions: r.permissions } });
      return r;
    });
    this.workload?.policiesChanged();
    return view(record);
  }

  async delete(caller: Principal, project: string, id: number, address: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      if (!(await tx.trustPolicies.delete(project, id))) throw new ProblemError('NOT_FOUND', `trust policy ${id} does not exist in project ${project}`);
      await this.audit.recordIn(tx, { actor: principalName(caller), action: 'trust-policy.delete', resource: `trust-policy:${id}`, project, result: 'success', sourceAddress: address });
    });
    this.workload?.policiesChanged();
  }
}
