/**
 * The WritePolicy the registry core consults while it writes: tag immutability and quotas,
 * each run on the transaction that makes the change.
 */
import type { Kysely } from 'kysely';
import type { MetadataStore } from '../metadata/store.js';
import type { Database } from '../metadata/tables.js';
import type { WritePolicy } from '../registry/write-policy.js';
import type { ImmutabilityPolicy } from './immutability.js';
import type { QuotaPolicy } from './quota.js';

export function lifecycleWritePolicy(meta: MetadataStore, immutability: ImmutabilityPolicy, quota: QuotaPolicy): WritePolicy {
  const db: Kysely<Database> = meta.executor;
  return {
    checkBlobPush: (repo, digest, size, uploadId) => quota.precheckBlob(db, repo, digest, size, uploadId),
    uploadRoom: (repo, digest) => quota.uploadRoom(db, repo, digest),
    blobLinked: (tx, repo) => quota.enforce(tx.executor, repo),
    tagWrite: (tx, repo, tag, digest) => immutability.checkTagWrite(tx.executor, repo, tag, digest),
    manifestPushed: (tx, repo) => quota.enforce(tx.executor, repo),
    tagDelete: (tx, repo, tag) => immutability.checkTagDelete(tx.executor, repo, tag),
    manifestDelete: (tx, repo, digest) => immutability.checkManifestDelete(tx.executor, repo, digest),
  };
}
