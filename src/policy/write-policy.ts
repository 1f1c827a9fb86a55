/**
 * The checks the registry core asks for while it writes (declared here, below the registry,
 * so the policy that implements them never imports the registry): quotas and tag
 * immutability (lifecycle-writes.ts) are handed in by main.ts. Each in-transaction check runs on the transaction
 * that makes the change, so check and write commit (or roll back) together; a check refuses
 * by throwing an OciError (usually DENIED with a reason naming the rule or the limit).
 */
import type { MetadataQueries } from '../metadata/store.js';
import type { Digest, RepoName, Tag } from '../domain/names.js';

/** What an upload write may add (bytes), and the error that refuses more. */
export interface UploadRoom {
  bytes: number;
  refusal(adding: number): Error;
}

export interface WritePolicy {
  /**
   * Before a pushed blob's bytes are placed: an early refusal, so a refused push leaves no
   * bytes. `uploadId`: the session whose bytes become the blob (they are not counted twice).
   */
  checkBlobPush(repo: RepoName, digest: Digest, size: number, uploadId?: string): Promise<void>;
  /**
   * Before bytes are written to an upload of `repo` (a session or a monolithic push): how many
   * it may take. `digest`: what the bytes must hash to, when already known.
   */
  uploadRoom(repo: RepoName, digest?: Digest): Promise<UploadRoom>;
  /** Inside the transaction that linked `digest` to `repo` (push or mount). */
  blobLinked(tx: MetadataQueries, repo: RepoName, digest: Digest): Promise<void>;
  /** Inside the manifest push transaction, before `tag` is pointed at `digest`. */
  tagWrite(tx: MetadataQueries, repo: RepoName, tag: Tag, digest: Digest): Promise<void>;
  /** Inside the manifest push transaction, after the manifest row was stored. */
  manifestPushed(tx: MetadataQueries, repo: RepoName, digest: Digest): Promise<void>;
  /** Inside the transaction that deletes a tag. */
  tagDelete(tx: MetadataQueries, repo: RepoName, tag: Tag): Promise<void>;
  /** Inside the transaction that deletes a manifest (and the tags pointing at it). */
  manifestDelete(tx: MetadataQueries, repo: RepoName, digest: Digest): Promise<void>;
}

export const allowAllWrites: WritePolicy = {
  async checkBlobPush() {},
  async uploadRoom() {
    return { bytes: Number.POSITIVE_INFINITY, refusal: () => new Error('unreachable: no limit') };
  },
  async blobLinked() {},
  async tagWrite() {},
  async manifestPushed() {},
  async tagDelete() {},
  async manifestDelete() {},
};
