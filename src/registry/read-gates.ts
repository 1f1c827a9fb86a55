/**
 * Read gates: rules that may refuse to serve a stored manifest (a project's signature or
 * vulnerability policy, say). The composition root builds the list and hands it to the
 * manifest service, which asks each gate in order after the manifest is found and before
 * the pull is recorded or any byte is sent. A gate refuses by throwing an OciError (DENIED,
 * naming the rule); it must be cheap on the warm path (cache its verdicts) because it runs on
 * every manifest read.
 */
import type { RepoName } from '../domain/names.js';
import type { ManifestRecord } from '../metadata/store.js';
import type { Reader } from '../policy/principal.js';

export interface ManifestReadGate {
  /** A name for logs and audit (e.g. "signature policy"). */
  readonly name: string;
  /**
   * Allows by returning nothing (a decision it had cached: the read goes on without waiting a
   * turn) or a promise that resolves; refuses by throwing OciError, or by a promise that
   * rejects with one, for `manifest` read from `repo`. `cachesFresh`:
   * this request already waited for the change feed's barrier, so every change committed
   * before it arrived has been announced here and caches invalidated by the feed may be
   * trusted (false when the feed cannot promise that: read through). `reader`: what the
   * permission point decided about the caller (policy/principal.ts).
   */
  check(repo: RepoName, manifest: ManifestRecord, cachesFresh: boolean, reader: Reader): Promise<void> | undefined;
}
