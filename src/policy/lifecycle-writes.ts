/**
 * The WritePolicy the registry core consults while it writes: tag immutability and quotas,
 * each run on the transaction that makes the change.
 */
import type { MetadataStore } from '../metadata/store.js';
import type { WritePolicy } from './write-policy.js';
import type { ImmutabilityPolicy } from './immutability.js';
import type { QuotaPolicy } from './quota.js';

export function lifecycleWritePolicy(meta: MetadataStore, immutability: ImmutabilityPolicy, quota: QuotaPolicy): WritePolicy {
  return {
    checkBlobPush: (repo, digest, size, uploadId) => quota.precheckBlob(meta, repo, digest, size, uploadId),
    uploadRoom: (repo, digest) => quota.uploadRoom(meta, repo, digest),
    blobLinked: (tx, repo) => quota.enforce(tx, repo),
    tagWrite: (tx, repo, tag, digest) => immutability.checkTagWrite(tx, repo, tag, digest),
    manifestPushed: (tx, repo) => quota.enforce(tx, repo),
    tagDelete: (tx, repo, tag) => immutability.checkTagDelete(tx, repo, tag),
    manifestDelete: (tx, repo, digest) => immutability.checkManifestDelete(tx, repo, digest),
  };
}
