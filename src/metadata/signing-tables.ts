/** Row types of the signing tables (migration 0011-signing). */
import type { Generated } from 'kysely';

export interface ProjectSigningTable {
  project: string;
  /** JSON policy. */
  policy: string;
  updated_at: number;
}

export interface SigningKeysTable {
  id: Generated<number>;
  project: string;
  fingerprint: string;
  public_key: string;
  /** Sealed (never plain) PKCS#8 PEM. */
  private_key: string;
  created_at: number;
  retired_at: number | null;
}

export interface SigningTables {
  project_signing: ProjectSigningTable;
  project_signing_keys: SigningKeysTable;
}
