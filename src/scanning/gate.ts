/**
 * The vulnerability read gate: refuses a manifest GET/HEAD when the project's security policy
 * (or the system default, project '*') refuses the image's scan results (see policy.ts).
 *
 * Cheap when warm: verdicts are cached per (project, digest). Every change that can alter a
 * verdict (a stored result, a database import, a policy change) bumps the `gate.version`
 * counter in the database in its own transaction; each process reads that counter at most
 * once per `refreshMs` and drops its cache when it moved, so another process's change takes
 * effect within `refreshMs`, and this process's at once (the service calls `invalidate`).
 * A verdict also expires when an allowlist entry it relied on does.
 */
import { OciError } from '../errors/oci.js';
import { projectOf, type Digest, type RepoName } from '../domain/names.js';
import type { ScanStore } from '../metadata/scan-store.js';
import type { Finding } from './match.js';
import { judge, SecurityPolicySchema, type ImageScan, type SecurityPolicy, type Verdict } from './policy.js';
import { GATE_VERSION, INDEX_MANIFESTS, isArtifact, isScannableImage } from './service.js';

interface GateManifest {
  digest: Digest;
  mediaType: string;
  artifactType: string | null;
  subject: Digest | null;
  content: Buffer;
}

export class SecurityGate {
  readonly name = 'vulnerability policy';
  private readonly verdicts = new Map<string, Verdict>();
  private readonly policies = new Map<string, SecurityPolicy | null>();
  private version: string | undefined;
  private checkedAt = 0;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly store: ScanStore,
    private readonly opts: { refreshMs: number; maxEntries: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Drops every cached verdict and policy (after a change made in this process). */
  invalidate(): void {
    this.verdicts.clear();
    this.policies.clear();
    this.checkedAt = 0;
  }

  private async refresh(): Promise<void> {
    const now = this.now();
    if (now - this.checkedAt < this.opts.refreshMs) return;
    this.refreshing ??= (async () => {
      try {
        const v = await this.store.state(GATE_VERSION);
        if (v !== this.version) {
          this.verdicts.clear();
          this.policies.clear();
          this.version = v;
        }
        this.checkedAt = this.now();
      } finally {
        this.refreshing = undefined;
      }
    })();
    await this.refreshing;
  }

  private async policyOf(project: string): Promise<SecurityPolicy | null> {
    if (this.policies.has(project)) return this.policies.get(project)!;
    const raw = (await this.store.policy(project)) ?? (await this.store.policy('*'));
    const parsed = raw === undefined ? null : SecurityPolicySchema.safeParse(raw);
    const policy = parsed?.success ? parsed.data : null;
    this.policies.set(project, policy);
    return policy;
  }

  private async scansOf(m: GateManifest): Promise<ImageScan[]> {
    const digests = INDEX_MANIFESTS.has(m.mediaType) ? ((JSON.parse(m.content.toString('utf8')) as { manifests?: { digest?: string }[] }).manifests ?? []).map((c) => c.digest).filter((d): d is string => typeof d === 'string') : [m.digest];
    const results = new Map((await this.store.results(digests)).map((r) => [r.digest, r]));
    return digests.map((d) => {
      const r = results.get(d);
      if (!r) return { status: d === m.digest && !isScannableImage(m) ? 'unsupported' : 'pending', vulnerabilities: [] };
      return { status: r.status, vulnerabilities: r.vulnerabilities as Finding[] };
    });
  }

  async check(repo: RepoName, manifest: GateManifest): Promise<void> {
    // Signatures, SBOMs and other artifacts are never refused: tools must reach them to decide.
    if (isArtifact(manifest)) return;
    await this.refresh();
    const project = projectOf(repo);
    const key = `${project}\0${manifest.digest}`;
    const now = this.now();
    let verdict = this.verdicts.get(key);
    if (!verdict || verdict.until <= now) {
      const policy = await this.policyOf(project);
      verdict = policy ? judge(policy, await this.scansOf(manifest), now) : { allow: true, until: Infinity };
      if (this.verdicts.size >= this.opts.maxEntries) this.verdicts.delete(this.verdicts.keys().next().value!);
      this.verdicts.set(key, verdict);
    }
    if (!verdict.allow) throw new OciError('DENIED', { reason: verdict.reason });
  }
}
