/**
 * The signing query group: a project's signing policy (stored as JSON; src/signing validates
 * it) and its signing keys. Private keys arrive and leave sealed; this layer never sees one in
 * clear. No rules here: which key signs and what a policy allows are decided in src/signing.
 */

export interface SigningKeyRecord {
  id: number;
  project: string;
  fingerprint: string;
  publicKey: string;
  /** Sealed private key (src/auth/key-sealing.ts). */
  sealedPrivateKey: string;
  createdAt: number;
  /** Set when a newer key replaced it; the key still verifies what it signed. */
  retiredAt: number | null;
}

export interface SigningQueries {
  /** The project's policy as stored (JSON value), undefined when it has none. */
  policy(project: string): Promise<unknown>;
  /** Stores the project's policy (JSON-serialisable), replacing any. */
  setPolicy(project: string, policy: unknown, now: number): Promise<void>;
  /** Forgets the project's policy and keys (no-op when it has none). */
  delete(project: string): Promise<void>;
  /** Every key of the project, newest first (the active one, if any, first). */
  keys(project: string): Promise<SigningKeyRecord[]>;
  /**
   * Makes `key` the project's active key: retires the active one at `now` and inserts `key`.
   * Run inside a transaction so two rotations cannot leave two active keys.
   */
  rotate(project: string, key: { fingerprint: string; publicKey: string; sealedPrivateKey: string }, now: number): Promise<SigningKeyRecord>;
}
