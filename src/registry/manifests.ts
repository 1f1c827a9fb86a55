/**
 * Manifests: push (validate, check every reference inside the transaction that stores it,
 * tag), pull through the read cache, delete by tag or digest.
 */
import { OciError } from '../errors/oci.js';
import type { ManifestRecord, MetadataStore } from '../metadata/store.js';
import { ALL_REPOSITORIES, type ChangeFeed } from '../metadata/change-feed.js';
import { digestLike, digestOf } from './digester.js';
import { parseManifest } from './manifest/parse.js';
import type { ManifestCache } from './manifest-cache.js';
import { referenceString, type Digest, type Reference, type RepoName } from '../domain/names.js';
import type { PullRecorder } from './pull-recorder.js';
import { allowAllWrites, type WritePolicy } from '../policy/write-policy.js';
import { notifyChange, type RegistryChangeListener } from '../policy/registry-changes.js';
import type { ManifestReadGate } from './read-gates.js';
import { ORDINARY_READER, type Reader } from '../policy/principal.js';

export interface PushedManifest {
  digest: Digest;
  subject: Digest | null;
}

export class ManifestService {
  constructor(
    private readonly meta: MetadataStore,
    private readonly cache: ManifestCache,
    private readonly changes: ChangeFeed,
    private readonly pulls: PullRecorder,
    private readonly now: () => number = Date.now,
    private readonly policy: WritePolicy = allowAllWrites,
    private readonly options: {
      maxReferences: number;
      /** Told of every push and delete inside its transaction (see policy/registry-changes.ts). */
      listeners?: readonly RegistryChangeListener[];
      /** Asked before a found manifest is served (see read-gates.ts). */
      readGates?: readonly ManifestReadGate[];
    } = { maxReferences: 10_000 },
  ) {
    changes.subscribe((repo) => (repo === ALL_REPOSITORIES ? cache.clear() : cache.invalidate(repo)));
  }

  private get listeners(): readonly RegistryChangeListener[] {
    return this.options.listeners ?? [];
  }

  /**
   * The manifest for a tag or digest, or MANIFEST_UNKNOWN; a read gate may refuse it (DENIED).
   * `pulled` records a pull (GET, not HEAD) once the gates allowed it; `reader` is who reads,
   * for the gates (the /v2 route passes what the permission point decided).
   */
  async get(repo: RepoName, ref: Reference, pulled: boolean, reader: Reader = ORDINARY_READER): Promise<ManifestRecord> {
    const key = referenceString(ref);
    // The barrier makes a change committed by another process or node before this request
    // arrived visible here first (read-your-writes across nodes); concurrent reads share it.
    const synced = this.changes.local === true || (await this.changes.sync());
    let record = synced ? this.cache.get(repo, key) : undefined;
    if (!record) {
      const generation = this.cache.generation(repo);
      record = await this.meta.manifests.get(repo, ref);
      if (!record) {
        throw new OciError('MANIFEST_UNKNOWN', ref.kind === 'tag' ? { tag: ref.tag } : { digest: ref.digest });
      }
      this.cache.set(repo, key, generation, record);
    }
    for (const gate of this.options.readGates ?? []) {
      // A gate answering from its cache returns nothing: no promise to wait a turn for.
      const pending = gate.check(repo, record, synced, reader);
      if (pending) await pending;
    }
    if (pulled) this.pulls.record(repo, record.digest);
    return record;
  }

  async put(repo: RepoName, ref: Reference, body: Buffer, contentType: string | undefined): Promise<PushedManifest> {
    const parsed = parseManifest(body, contentType, this.options.maxReferences);
    let digest: Digest;
    if (ref.kind === 'digest') {
      digest = digestLike(body, ref.digest);
      if (digest !== ref.digest) {
        throw new OciError('DIGEST_INVALID', { expected: ref.digest, actual: digest, reason: 'the manifest body does not match the digest in the URL' });
      }
    } else {
      digest = digestOf(body);
    }
    const now = this.now();
    // A re-push refreshes the push time before the push's transaction, in a statement of its
    // own: concurrent pushes of one manifest under many tags then contend on a row lock for a
    // moment instead of failing each other's serializable transactions.
    await this.meta.manifests.touchPushed(repo, digest, now);
    await this.meta.transaction(async (tx) => {
      const missingBlobs = await tx.manifests.missingBlobs(repo, parsed.blobs);
      const missingChildren = await tx.manifests.missingManifests(repo, parsed.children);
      const missing = [...missingBlobs, ...missingChildren];
      if (missing.length > 0) {
        throw new OciError('MANIFEST_BLOB_UNKNOWN', {
          // The first hundred are enough to act on; the error stays small whatever was pushed.
          missing: missing.slice(0, 100),
          ...(missing.length > 100 ? { missingCount: missing.length } : {}),
          reason: `the manifest references ${missing.length === 1 ? 'a blob or manifest' : `${missing.length} blobs or manifests`} not in repository ${repo}: ${missing.slice(0, 5).join(', ')}`,
        });
      }
      if (ref.kind === 'tag') await this.policy.tagWrite(tx, repo, ref.tag, digest);
      await tx.manifests.insert(
        repo,
        { digest, mediaType: parsed.mediaType, artifactType: parsed.artifactType, subject: parsed.subject, content: body, annotations: parsed.annotations, blobs: parsed.blobs, children: parsed.children },
        now,
      );
      if (ref.kind === 'tag') await tx.tags.set(repo, ref.tag, digest, now);
      await this.policy.manifestPushed(tx, repo, digest);
      await notifyChange(this.listeners, tx, {
        kind: 'manifest.pushed',
        repo,
        digest,
        tag: ref.kind === 'tag' ? ref.tag : null,
        mediaType: parsed.mediaType,
        artifactType: parsed.artifactType,
        subject: parsed.subject,
      });
    }, { isolation: 'serializable' });
    if (ref.kind === 'tag') await this.changes.publish(repo);
    return { digest, subject: parsed.subject };
  }

  /** By tag: removes the tag only. By digest: removes the manifest and every tag pointing at it. */
  async delete(repo: RepoName, ref: Reference): Promise<void> {
    if (ref.kind === 'tag') {
      await this.meta.transaction(async (tx) => {
        await this.policy.tagDelete(tx, repo, ref.tag);
        if (!(await tx.tags.delete(repo, ref.tag))) throw new OciError('MANIFEST_UNKNOWN', { tag: ref.tag });
        await notifyChange(this.listeners, tx, { kind: 'tag.deleted', repo, tag: ref.tag });
      }, { isolation: 'serializable' });
    } else {
      await this.meta.transaction(async (tx) => {
        const parents = await tx.manifests.parents(repo, ref.digest);
        if (parents.length > 0) {
          throw new OciError('DENIED', {
            digest: ref.digest,
            parents,
            reason: `manifest ${ref.digest} is listed by index ${parents[0]}${parents.length > 1 ? ` and ${parents.length - 1} more` : ''}; delete the index first`,
          });
        }
        await this.policy.manifestDelete(tx, repo, ref.digest);
        if (!(await tx.manifests.delete(repo, ref.digest))) throw new OciError('MANIFEST_UNKNOWN', { digest: ref.digest });
        await notifyChange(this.listeners, tx, { kind: 'manifest.deleted', repo, digest: ref.digest });
      }, { isolation: 'serializable' });
    }
    await this.changes.publish(repo);
  }
}
