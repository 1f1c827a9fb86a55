/**
 * Signatures as a project feature: the policy (read through a cache), the project's own
 * signing keys, the signatures a manifest has and whether they verify, and the verdict the
 * read gate (gate.ts) asks for.
 *
 * Caching, and why it is safe. The gate runs on every manifest GET/HEAD, so a project's policy
 * (parsed keys and certificates) and each *allowed* (repository, digest) are cached in memory.
 * Refusals are not cached: they re-verify each time, so a signature pushed by digest (which
 * announces nothing) takes effect at once. An allow can only become wrong when a signature is
 * removed (a tag or manifest delete: the manifest service announces the repository on the
 * change feed), when a signature tag moves (a tag push: announced), or when the project's
 * keys or policy change (this service announces `signing:<project>` after commit). Every
 * process and node subscribes to the same feed (PostgreSQL NOTIFY, the SQLite changes table),
 * and the manifest service waits for the feed's barrier (`sync`) before it asks the gate;
 * when the feed cannot promise that
 * (connection down) the caches are bypassed. A verification that raced with an invalidation
 * does not store its result (the `version` check).
 */
import { generateKeyPairSync } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.js';
import type { KeySealer } from '../auth/key-sealing.js';
import { projectOf, type Digest, type RepoName } from '../domain/names.js';
import { OciError } from '../errors/oci.js';
import { ALL_REPOSITORIES, type ChangeFeed } from '../metadata/change-feed.js';
import type { SigningKeyRecord } from '../metadata/signing-store.js';
import type { ManifestRecord, MetadataStore } from '../metadata/store.js';
import type { BlobStore } from '../storage/blob-store.js';
import { checkSignatureManifest, cosignSignatureTag, SIGNATURE_ARTIFACT_TYPES, SUPPLY_CHAIN_MEDIA_TYPES, type SignatureCheck, type Trust } from './formats.js';
import { parsePublicKey } from './keys.js';
import { compileTrust, PolicyError, SigningPolicyInput, storedPolicy, type SigningPolicy } from './policy.js';

/** Prefix of change-feed messages that announce a project's signing policy or keys changed. */
export const POLICY_CHANGED = 'signing:';
/** Largest signature blob read (payloads and envelopes are a few KiB). */
const MAX_SIGNATURE_BLOB = 1 << 20;
/** Signature manifests read per subject (referrers beyond are not considered). */
const MAX_SIGNATURE_MANIFESTS = 50;
/** How far up nested indexes a child looks for a signed parent. */
const MAX_PARENT_DEPTH = 3;

interface CompiledPolicy {
  policy: SigningPolicy;
  trust: Trust;
  /** Why the stored policy cannot be used (then nothing is trusted). */
  broken?: string;
}

export interface SignaturesView {
  digest: string;
  signed: boolean;
  verified: boolean;
  /** Verified through the signature of an index that contains it. */
  coveredBy: string | null;
  signatures: SignatureCheck[];
}

export interface PolicyView {
  project: string;
  verify: { keys: { fingerprint: string; type: string; publicKey: string }[]; certificates: { subject: string; fingerprint: string; notAfter: string; certificate: string }[]; enforce: boolean };
  signOnPush: boolean;
  signingKeys: { fingerprint: string; createdAt: string; retiredAt: string | null; active: boolean }[];
}

export interface SigningOptions {
  meta: MetadataStore;
  blobs: BlobStore;
  sealer: KeySealer;
  changes: ChangeFeed;
  audit: AuditLog;
  logger: Logger;
  now?: () => number;
}

/** Also the read gate (ManifestReadGate's shape: `name`, `check`), which main.ts lists. */
export class SigningService {
  readonly name = 'signature policy';
  private readonly policies = new Map<string, CompiledPolicy>();
  /** repository -> digests allowed under its project's current policy. */
  private readonly allowed = new Map<string, Set<string>>();
  private version = 0;
  private readonly now: () => number;

  constructor(private readonly o: SigningOptions) {
    this.now = o.now ?? Date.now;
    o.changes.subscribe((msg) => this.invalidate(msg));
  }

  private invalidate(msg: string): void {
    this.version++;
    if (msg === ALL_REPOSITORIES) {
      this.policies.clear();
      this.allowed.clear();
    } else if (msg.startsWith(POLICY_CHANGED)) {
      const project = msg.slice(POLICY_CHANGED.length);
      this.policies.delete(project);
      for (const repo of [...this.allowed.keys()]) if (projectOf(repo as RepoName) === project) this.allowed.delete(repo);
    } else {
      this.allowed.delete(msg);
    }
  }

  private async announce(project: string): Promise<void> {
    await this.o.changes.publish(POLICY_CHANGED + project);
  }

  private async compiled(project: string, cached: boolean): Promise<CompiledPolicy> {
    const hit = cached ? this.policies.get(project) : undefined;
    if (hit) return hit;
    const version = this.version;
    const policy = storedPolicy(await this.o.meta.signing.policy(project));
    const own = policy.signOnPush || policy.verify.enforce ? (await this.o.meta.signing.keys(project)).map((k) => k.publicKey) : [];
    let c: CompiledPolicy;
    try {
      c = { policy, trust: compileTrust(policy, own) };
    } catch (e) {
      c = { policy, trust: { keys: [], certificates: [] }, broken: (e as Error).message };
    }
    if (cached && version === this.version) this.policies.set(project, c);
    return c;
  }

  // ---- policy and keys (the API and CLI) ----

  async getPolicy(project: string): Promise<PolicyView> {
    return this.view(project, storedPolicy(await this.o.meta.signing.policy(project)), await this.o.meta.signing.keys(project));
  }

  /** Validates and stores `input`; creates the project's signing key when signing on push starts. Throws PolicyError. */
  async setPolicy(project: string, input: unknown): Promise<PolicyView> {
    const parsed = SigningPolicyInput.safeParse(input);
    if (!parsed.success) throw new PolicyError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const policy = parsed.data;
    compileTrust(policy); // names the wrong key or certificate before anything is stored
    const keys = await this.o.meta.transaction(async (tx) => {
      await tx.signing.setPolicy(project, policy, this.now());
      const existing = await tx.signing.keys(project);
      if (policy.signOnPush && !existing.some((k) => k.retiredAt === null)) await tx.signing.rotate(project, this.newKey(), this.now());
      return tx.signing.keys(project);
    });
    await this.announce(project);
    return this.view(project, policy, keys);
  }

  /** Forgets the project's policy and keys (its name was deleted, or newly created). */
  async forget(project: string): Promise<void> {
    await this.o.meta.transaction((tx) => tx.signing.delete(project));
    await this.announce(project);
  }

  /** Replaces the project's active signing key; the old one stays as a verifying key. */
  async rotateKey(project: string): Promise<PolicyView> {
    const keys = await this.o.meta.transaction(async (tx) => {
      await tx.signing.rotate(project, this.newKey(), this.now());
      return tx.signing.keys(project);
    });
    await this.announce(project);
    return this.view(project, storedPolicy(await this.o.meta.signing.policy(project)), keys);
  }

  /** The project's public keys, active first; undefined when it has none. */
  async publicKeys(project: string): Promise<{ fingerprint: string; publicKey: string; active: boolean; createdAt: string }[]> {
    return (await this.o.meta.signing.keys(project)).map((k) => ({ fingerprint: k.fingerprint, publicKey: k.publicKey, active: k.retiredAt === null, createdAt: new Date(k.createdAt).toISOString() }));
  }

  private newKey(): { fingerprint: string; publicKey: string; sealedPrivateKey: string } {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pub = parsePublicKey(publicKey.export({ type: 'spki', format: 'pem' }).toString());
    return { fingerprint: pub.fingerprint, publicKey: pub.pem, sealedPrivateKey: this.o.sealer.seal(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()) };
  }

  /** The active key of a project, unsealed (for the signing job only). */
  async activeKey(project: string): Promise<{ record: SigningKeyRecord; privateKeyPem: string } | undefined> {
    const record = (await this.o.meta.signing.keys(project)).find((k) => k.retiredAt === null);
    return record && { record, privateKeyPem: this.o.sealer.open(record.sealedPrivateKey) };
  }

  private view(project: string, policy: SigningPolicy, keys: SigningKeyRecord[]): PolicyView {
    const trust = compileTrust(policy);
    return {
      project,
      verify: {
        keys: trust.keys.map((k) => ({ fingerprint: k.fingerprint, type: k.type, publicKey: k.pem })),
        certificates: trust.certificates.map((c, i) => ({ subject: c.subject.replace(/\n/g, ', '), fingerprint: `sha256:${c.fingerprint256.replace(/:/g, '').toLowerCase()}`, notAfter: new Date(c.validTo).toISOString(), certificate: policy.verify.certificates[i]! })),
        enforce: policy.verify.enforce,
      },
      signOnPush: policy.signOnPush,
      signingKeys: keys.map((k) => ({ fingerprint: k.fingerprint, createdAt: new Date(k.createdAt).toISOString(), retiredAt: k.retiredAt === null ? null : new Date(k.retiredAt).toISOString(), active: k.retiredAt === null })),
    };
  }

  // ---- signatures of a manifest ----

  private async readBlob(digest: string): Promise<Buffer | undefined> {
    const size = await this.o.blobs.stat(digest as Digest);
    if (size === undefined || size > MAX_SIGNATURE_BLOB) return undefined;
    const chunks: Buffer[] = [];
    for await (const c of await this.o.blobs.read(digest as Digest)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /** Every signature of `subject` in `repo` (the cosign tag, and signature referrers), checked against `trust`. */
  private async checks(repo: RepoName, subject: ManifestRecord, trust: Trust): Promise<SignatureCheck[]> {
    const sigDigests = new Set<string>();
    const tagged = await this.o.meta.tags.digestOf(repo, cosignSignatureTag(subject.digest));
    if (tagged) sigDigests.add(tagged);
    // Per signature type, so other referrers (SBOMs, attestations) never crowd signatures out.
    for (const artifactType of SIGNATURE_ARTIFACT_TYPES) {
      for (const r of await this.o.meta.manifests.referrers(repo, subject.digest, { artifactType, limit: MAX_SIGNATURE_MANIFESTS })) sigDigests.add(r.digest);
    }
    const out: SignatureCheck[] = [];
    for (const d of [...sigDigests].slice(0, MAX_SIGNATURE_MANIFESTS)) {
      const m = await this.o.meta.manifests.get(repo, { kind: 'digest', digest: d as Digest });
      if (m) out.push(...(await checkSignatureManifest(m, subject, trust, (b) => this.readBlob(b))));
    }
    return out;
  }

  /** Whether a trusted signature covers `m`, directly or through an index that contains it. */
  private async covered(repo: RepoName, m: ManifestRecord, trust: Trust, depth = 0, seen = new Set<string>()): Promise<{ checks: SignatureCheck[]; coveredBy: string | null }> {
    const checks = await this.checks(repo, m, trust);
    if (checks.some((c) => c.verified)) return { checks, coveredBy: null };
    seen.add(m.digest);
    if (depth < MAX_PARENT_DEPTH) {
      for (const p of await this.o.meta.manifests.parents(repo, m.digest)) {
        if (seen.has(p)) continue;
        const parent = await this.o.meta.manifests.get(repo, { kind: 'digest', digest: p });
        if (!parent) continue;
        const up = await this.covered(repo, parent, trust, depth + 1, seen);
        if (up.checks.some((c) => c.verified) || up.coveredBy) return { checks, coveredBy: up.coveredBy ?? parent.digest };
      }
    }
    return { checks, coveredBy: null };
  }

  /** The signatures of `digest` in `repo` and whether they verify under the project's trust (API, UI). */
  async signatures(repo: RepoName, digest: Digest): Promise<SignaturesView | undefined> {
    const m = await this.o.meta.manifests.get(repo, { kind: 'digest', digest });
    if (!m) return undefined;
    const { trust } = await this.compiled(projectOf(repo), false);
    const own = await this.o.meta.signing.keys(projectOf(repo));
    const allTrust = { keys: [...trust.keys, ...own.filter((k) => !trust.keys.some((t) => t.fingerprint === k.fingerprint)).map((k) => parsePublicKey(k.publicKey))], certificates: trust.certificates };
    const { checks, coveredBy } = await this.covered(repo, m, allTrust);
    return { digest, signed: checks.length > 0, verified: checks.some((c) => c.verified) || coveredBy !== null, coveredBy, signatures: checks };
  }

  // ---- the read gate ----

  /** Signature, attestation and SBOM artifacts stay readable under enforcement. */
  isSupplyChainArtifact(m: ManifestRecord): boolean {
    if (m.artifactType && SUPPLY_CHAIN_MEDIA_TYPES.has(m.artifactType)) return true;
    let doc: any;
    try {
      doc = JSON.parse(m.content.toString('utf8'));
    } catch {
      return false;
    }
    if (typeof doc?.config?.mediaType === 'string' && SUPPLY_CHAIN_MEDIA_TYPES.has(doc.config.mediaType)) return true;
    return Array.isArray(doc?.layers) && doc.layers.length > 0 && doc.layers.every((l: any) => SUPPLY_CHAIN_MEDIA_TYPES.has(l?.mediaType));
  }

  /**
   * Allows at once (returns nothing) when the cached policy does not enforce signatures or
   * already allowed `m`; otherwise resolves when the project's policy lets `m` be served from
   * `repo`, and rejects with OciError DENIED when it does not.
   */
  check(repo: RepoName, m: ManifestRecord, cachesFresh: boolean): Promise<void> | undefined {
    const hit = cachesFresh ? this.policies.get(projectOf(repo)) : undefined;
    if (hit && (!hit.policy.verify.enforce || this.allowed.get(repo)?.has(m.digest))) return undefined;
    return this.decide(repo, m, cachesFresh);
  }

  private async decide(repo: RepoName, m: ManifestRecord, cachesFresh: boolean): Promise<void> {
    const project = projectOf(repo);
    const cached = cachesFresh;
    const { policy, trust, broken } = await this.compiled(project, cached);
    if (!policy.verify.enforce) return;
    if (cached && this.allowed.get(repo)?.has(m.digest)) return;
    const version = this.version;
    let why: string;
    if (this.isSupplyChainArtifact(m)) why = '';
    else if (broken) why = `its signing policy cannot be read (${broken})`;
    else {
      const { checks, coveredBy } = await this.covered(repo, m, trust);
      if (checks.some((c) => c.verified) || coveredBy) why = '';
      else if (checks.length === 0) why = `no signature covers ${m.digest}`;
      else why = `no valid signature by a trusted key covers ${m.digest} (${[...new Set(checks.map((c) => c.reason))].slice(0, 3).join('; ')})`;
    }
    if (why === '') {
      if (cached && version === this.version) {
        let set = this.allowed.get(repo);
        if (!set) this.allowed.set(repo, (set = new Set()));
        set.add(m.digest);
      }
      return;
    }
    const reason = `the signing policy of project ${project} requires a trusted signature: ${why}`;
    this.o.audit.record({ actor: 'registry', action: 'signing.pull_refused', resource: `${repo}@${m.digest}`, project, result: 'failure', detail: { reason } });
    throw new OciError('DENIED', { reason, policy: `signing policy of project ${project}`, digest: m.digest });
  }
}
