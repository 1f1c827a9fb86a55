/**
 * Read gates: rules that may refuse to serve a stored manifest (a project's signature or
 * vulnerability policy, say). The composition root builds the list; the manifest GET/HEAD
 * route asks each gate in order after the manifest is found and before any byte is sent.
 * A gate refuses by throwing an OciError (DENIED, naming the rule); it must be cheap on the
 * warm path (cache its verdicts) because it runs on every manifest read.
 */
import type { RepoName } from '../domain/names.js';
import type { ManifestRecord } from '../metadata/store.js';

export interface ManifestReadGate {
  /** A name for logs and audit (e.g. "signature policy"). */
  readonly name: string;
  /** Resolves to allow; throws OciError to refuse `manifest` read from `repo`. */
  check(repo: RepoName, manifest: ManifestRecord): Promise<void>;
}

/** Runs `gates` in order; the first refusal wins. */
export async function checkReadGates(gates: readonly ManifestReadGate[], repo: RepoName, manifest: ManifestRecord): Promise<void> {
  for (const gate of gates) await gate.check(repo, manifest);
}
