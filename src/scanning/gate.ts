/**
 * The vulnerability read gate: refuses a manifest GET/HEAD when the project's security policy
 * (or the system default, project '*') refuses the image's scan results (see policy.ts).
 *
 * Caching, and why it is safe. Verdicts are cached per (project, digest), with the digests
 * they were judged from (an index's: its platforms'), and policies per project, so a warm
 * read costs no database round trip. A verdict can only change when a result it read changes
 * (pending, running, a final result, a rescan's new findings), when the project's policy or
 * the default changes, or when an allowlist entry it relied on expires (the verdict's
 * `until`). The scan service announces each committed change on the change feed
 * (`scan:<digest>`, `security:<project>`, `security:*`, media.ts); every process subscribes
 * and drops just the verdicts that depend on it. The manifest service waits for the feed's
 * barrier before asking the gate, and when the feed cannot promise that (`cachesFresh`
 * false) the gate reads through. A verdict computed while an invalidation arrived is not
 * stored (the `generation` check), so a stale read never outlives the change that followed.
 */
import { OciError } from '../errors/oci.js';
import { projectOf, type Digest, type RepoName } from '../domain/names.js';
import { ALL_REPOSITORIES } from '../metadata/change-feed.js';
import type { ScanStore } from '../metadata/scan-store.js';
import { ORDINARY_READER, type Reader } from '../policy/principal.js';
import type { Finding } from './match.js';
import { childDigests, EVERYTHING_CHANGED, INDEX_MANIFESTS, isArtifact, isScannableImage, POLICY_CHANGED, RESULT_CHANGED } from './media.js';
import { judge, SecurityPolicySchema, type ImageScan, type SecurityPolicy, type Verdict } from './policy.js';

interface GateManifest {
  digest: Digest;
  mediaType: string;
  artifactType: string | null;
  subject: Digest | null;
  content: Buffer;
}

interface Cached {
  verdict: Verdict;
  /** The results the verdict was judged from. */
  digests: string[];
}

/** Nothing when `verdict` allows; throws its refusal otherwise. */
function refuseUnless(verdict: Verdict): undefined {
  if (!verdict.allow) throw new OciError('DENIED', { reason: verdict.reason });
  return undefined;
}

export class SecurityGate {
  readonly name = 'vulnerability policy';
  private readonly verdicts = new Map<string, Cached>();
  /** Verdict keys by each result digest they depend on. */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly policies = new Map<string, SecurityPolicy | null>();
  private generation = 0;
  /** Store reads made by verdicts (tests read it to prove warm reads make none). */
  reads = 0;

  constructor(
    private readonly store: ScanStore,
    private readonly opts: { maxEntries: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** A change-feed message: drops what depends on it (other messages concern other caches). */
  onChange(message: string): void {
    if (message === ALL_REPOSITORIES || message === EVERYTHING_CHANGED) return this.clear();
    if (message.startsWith(RESULT_CHANGED)) {
      this.generation++;
      for (const key of [...(this.dependents.get(message.slice(RESULT_CHANGED.length)) ?? [])]) this.drop(key);
    } else if (message.startsWith(POLICY_CHANGED)) {
      this.generation++;
      const project = message.slice(POLICY_CHANGED.length);
      this.policies.delete(project);
      for (const key of [...this.verdicts.keys()]) if (key.startsWith(`${project}\0`)) this.drop(key);
    }
  }

  private clear(): void {
    this.generation++;
    this.verdicts.clear();
    this.dependents.clear();
    this.policies.clear();
  }

  private drop(key: string): void {
    const c = this.verdicts.get(key);
    if (!c) return;
    this.verdicts.delete(key);
    for (const d of c.digests) {
      const set = this.dependents.get(d);
      set?.delete(key);
      if (set?.size === 0) this.dependents.delete(d);
    }
  }

  private async policyOf(project: string, cached: boolean): Promise<SecurityPolicy | null> {
    if (cached && this.policies.has(project)) return this.policies.get(project)!;
    const generation = this.generation;
    this.reads++;
    const raw = (await this.store.policy(project)) ?? (await this.store.policy('*'));
    const parsed = raw === undefined ? null : SecurityPolicySchema.safeParse(raw);
    const policy = parsed?.success ? parsed.data : null;
    if (cached && generation === this.generation) this.policies.set(project, policy);
    return policy;
  }

  private async scansOf(m: GateManifest, digests: string[]): Promise<ImageScan[]> {
    this.reads++;
    const results = new Map((await this.store.results(digests)).map((r) => [r.digest, r]));
    return digests.map((d) => {
      const r = results.get(d);
      if (!r) return { status: d === m.digest && !isScannableImage(m) ? 'unsupported' : 'unscanned', vulnerabilities: [] };
      // A re-scan in progress is judged by how the last finished scan ended (its findings stay).
      const pendingAgain = (r.status === 'pending' || r.status === 'running') && r.previousStatus !== null;
      return { status: pendingAgain ? r.previousStatus! : r.status, vulnerabilities: r.vulnerabilities as Finding[] };
    });
  }

  /** Allows at once (returns nothing) on a cached verdict; otherwise a promise of the decision. Refuses with OciError DENIED. */
  check(repo: RepoName, manifest: GateManifest, cachesFresh = true, reader: Reader = ORDINARY_READER): Promise<void> | undefined {
    // Signatures, SBOMs and other artifacts are never refused: tools must reach them to decide.
    if (isArtifact(manifest)) return undefined;
    // Nor is the external scanner reading what it scans: refused as unscanned, nothing would
    // ever be scanned, and refused for its findings, a blocked image could never be scanned
    // again (say after the scanner's database dropped a false positive). Its token pulls one
    // repository for minutes, and a block guards deployments, not the bytes (blobs are not gated).
    if (reader.scanner) return undefined;
    const project = projectOf(repo);
    const key = `${project}\0${manifest.digest}`;
    const hit = cachesFresh ? this.verdicts.get(key) : undefined;
    if (hit && hit.verdict.until > this.now()) return refuseUnless(hit.verdict);
    return this.decide(project, key, manifest, cachesFresh);
  }

  private async decide(project: string, key: string, manifest: GateManifest, cachesFresh: boolean): Promise<void> {
    const now = this.now();
    const generation = this.generation;
    const policy = await this.policyOf(project, cachesFresh);
    const digests = INDEX_MANIFESTS.has(manifest.mediaType) ? childDigests(manifest.content) : [manifest.digest];
    const verdict: Verdict = policy ? judge(policy, await this.scansOf(manifest, digests), now) : { allow: true, until: Infinity };
    if (cachesFresh && generation === this.generation) this.remember(key, { verdict, digests });
    refuseUnless(verdict);
  }

  private remember(key: string, c: Cached): void {
    this.drop(key);
    if (this.verdicts.size >= this.opts.maxEntries) this.drop(this.verdicts.keys().next().value!);
    this.verdicts.set(key, c);
    for (const d of c.digests) {
      let set = this.dependents.get(d);
      if (!set) this.dependents.set(d, (set = new Set()));
      set.add(key);
    }
  }
}
