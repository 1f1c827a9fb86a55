/**
 * Reactions to changes of registry content, run inside the transaction that makes the change
 * (declared here, below the registry, so the features that react never import it). The
 * manifest service calls every listener main.ts hands it, in order, after the change is
 * written and before the transaction commits: a listener that records an event or enqueues
 * a job (`tx.jobs.enqueue`) therefore commits exactly when the change does, and one that
 * throws rolls the change back (so a listener must only throw to refuse the change).
 */
import type { MetadataQueries } from '../metadata/store.js';
import type { Digest, RepoName, Tag } from '../domain/names.js';

export type RegistryChange =
  | {
      kind: 'manifest.pushed';
      repo: RepoName;
      digest: Digest;
      /** The tag pushed to (null for a push by digest). */
      tag: Tag | null;
      mediaType: string;
      artifactType: string | null;
      /** The manifest this one refers to (OCI 1.1 `subject`: signatures, SBOMs). */
      subject: Digest | null;
    }
  | { kind: 'tag.deleted'; repo: RepoName; tag: Tag }
  | { kind: 'manifest.deleted'; repo: RepoName; digest: Digest };

export type RegistryChangeListener = (tx: MetadataQueries, change: RegistryChange) => Promise<void>;

/** Tells each listener, in order, inside `tx`. */
export async function notifyChange(listeners: readonly RegistryChangeListener[], tx: MetadataQueries, change: RegistryChange): Promise<void> {
  for (const listener of listeners) await listener(tx, change);
}
