/** Row types of the access-control and audit tables (migration 0002-auth), as Kysely sees them. */
import type { Generated } from 'kysely';

export interface UsersTable {
  id: Generated<number>;
  name: string;
  password_hash: string;
  admin: number;
  disabled: number;
  created_at: number;
  updated_at: number;
  /** When the password was last set or the account disabled: tokens issued before are refused. */
  credentials_changed_at: Generated<number>;
}

export interface ProjectsTable {
  name: string;
  public: number;
  created_at: number;
}

export interface ProjectMembersTable {
  project: string;
  user_id: number;
  role: string;
  created_at: number;
}

export interface RobotsTable {
  id: Generated<number>;
  /** Full name, `robot$<project>+<name>`. */
  name: string;
  project: string;
  secret_hash: string;
  /** JSON: { "<project>": ["pull", "push", ...] }. */
  permissions: string;
  expires_at: number | null;
  last_used_at: number | null;
  created_at: number;
}

export interface AccessTokensTable {
  id: string;
  user_id: number;
  name: string;
  secret_hash: string;
  /** JSON array of scopes (empty: everything the user may do). */
  scopes: string;
  expires_at: number | null;
  last_used_at: number | null;
  created_at: number;
}

export interface SessionsTable {
  id_hash: string;
  user_id: number;
  csrf_token: string;
  expires_at: number;
  created_at: number;
}

export interface SigningKeysTable {
  kid: string;
  private_jwk: string;
  created_at: number;
  retired_at: number | null;
}

export interface AuditEventsTable {
  id: Generated<number>;
  at: number;
  actor: string;
  action: string;
  resource: string;
  project: string | null;
  result: string;
  source_address: string | null;
  /** JSON text. */
  detail: string | null;
}

export interface LoginFailuresTable {
  key: string;
  failures: number;
  reset_at: number;
}

export interface TrustPoliciesTable {
  id: Generated<number>;
  project: string;
  /** The OIDC issuer URL, exactly as its tokens' `iss`. */
  issuer: string;
  audience: string;
  /** JSON: { "<claim>": "<exact value or glob>" }. */
  claims: string;
  /** JSON array of repository actions. */
  permissions: string;
  created_by: string;
  created_at: number;
}

export interface ExternalIdentitiesTable {
  user_id: number;
  /** `oidc` or `ldap`. */
  provider: string;
  /** The provider's stable id of the user (OIDC `sub`, LDAP DN). */
  subject: string;
  /** JSON: { "<project>": "<role>" } the groups granted at the last sign-in. */
  granted: string;
  synced_at: number;
}

export interface AuthTables {
  users: UsersTable;
  projects: ProjectsTable;
  project_members: ProjectMembersTable;
  robots: RobotsTable;
  access_tokens: AccessTokensTable;
  sessions: SessionsTable;
  signing_keys: SigningKeysTable;
  audit_events: AuditEventsTable;
  login_failures: LoginFailuresTable;
  trust_policies: TrustPoliciesTable;
  external_identities: ExternalIdentitiesTable;
}
