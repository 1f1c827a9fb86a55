/**
 * The management side of signatures: a project's signing policy (read, set), its signing key
 * (public half, rotation) and the signatures of a manifest. The rules live in
 * src/signing/service.ts; this service checks the project exists, turns a wrong policy into
 * INVALID, and records each change in the audit log. Private keys never leave src/signing.
 */
import type { AuditLog } from '../../audit/audit-log.js';
import { parseDigest, parseRepoName, type Digest, type RepoName } from '../../domain/names.js';
import { ProblemError } from '../../errors/problem.js';
import type { AuthStore } from '../../metadata/auth-store.js';
import { principalName, type Principal } from '../../policy/principal.js';
import { PolicyError } from '../../signing/policy.js';
import type { PolicyView, SignaturesView, SigningService } from '../../signing/service.js';

export class SigningApi {
  constructor(
    private readonly store: AuthStore,
    private readonly signing: SigningService,
    private readonly audit: AuditLog,
  ) {}

  private async project(name: string): Promise<string> {
    if (!(await this.store.projects.get(name))) throw new ProblemError('NOT_FOUND', `project ${name.slice(0, 100)} does not exist`);
    return name;
  }

  async get(name: string): Promise<PolicyView> {
    return this.signing.getPolicy(await this.project(name));
  }

  async set(caller: Principal, name: string, input: unknown, ip: string): Promise<PolicyView> {
    const project = await this.project(name);
    let view: PolicyView;
    try {
      view = await this.signing.setPolicy(project, input);
    } catch (e) {
      if (e instanceof PolicyError) throw new ProblemError('INVALID', e.message);
      throw e;
    }
    this.audit.record({
      actor: principalName(caller),
      action: 'signing.set',
      resource: `project:${project}`,
      project,
      result: 'success',
      sourceAddress: ip,
      detail: { keys: view.verify.keys.map((k) => k.fingerprint), certificates: view.verify.certificates.map((c) => c.fingerprint), enforce: view.verify.enforce, signOnPush: view.signOnPush },
    });
    return view;
  }

  async rotate(caller: Principal, name: string, ip: string): Promise<PolicyView> {
    const project = await this.project(name);
    const view = await this.signing.rotateKey(project);
    const active = view.signingKeys.find((k) => k.active);
    this.audit.record({ actor: principalName(caller), action: 'signing.rotate', resource: `project:${project}`, project, result: 'success', sourceAddress: ip, detail: { fingerprint: active?.fingerprint } });
    return view;
  }

  async publicKey(name: string): Promise<{ project: string; fingerprint: string; publicKey: string; previous: { fingerprint: string; publicKey: string; createdAt: string }[] }> {
    const project = await this.project(name);
    const keys = await this.signing.publicKeys(project);
    const active = keys.find((k) => k.active);
    if (!active) throw new ProblemError('NOT_FOUND', `project ${project} has no signing key (turn on signOnPush, or rotate to create one)`);
    return { project, fingerprint: active.fingerprint, publicKey: active.publicKey, previous: keys.filter((k) => !k.active).map(({ fingerprint, publicKey, createdAt }) => ({ fingerprint, publicKey, createdAt })) };
  }

  async signatures(repoName: string, digest: string): Promise<SignaturesView> {
    let repo: RepoName;
    let d: Digest;
    try {
      repo = parseRepoName(repoName);
    } catch {
      throw new ProblemError('NOT_FOUND', `repository ${repoName.slice(0, 300)} does not exist`);
    }
    try {
      d = parseDigest(digest);
    } catch {
      throw new ProblemError('INVALID', `invalid digest ${digest.slice(0, 200)}`);
    }
    const v = await this.signing.signatures(repo, d);
    if (!v) throw new ProblemError('NOT_FOUND', `manifest ${d} does not exist in ${repo}`);
    return v;
  }
}
