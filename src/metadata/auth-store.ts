/**
 * The AuthStore interface: users, projects and memberships, robots, personal access tokens,
 * UI sessions, token signing keys and audit events. Like MetadataStore it holds no rules
 * (the policy and the services in src/auth, src/api and src/audit decide); `transaction`
 * lets a change and its audit event commit together.
 */
import type { EventQueries } from './event-store.js';
import type { TransactionOptions } from './store.js';

export type Role = 'admin' | 'maintainer' | 'developer' | 'guest';

export interface UserRecord {
  id: number;
  name: string;
  passwordHash: string;
  admin: boolean;
  disabled: boolean;
  createdAt: number;
  /** When the password was last set or the account disabled: credentials issued before are void. */
  credentialsChangedAt: number;
}

export interface ProjectRecord {
  name: string;
  public: boolean;
  createdAt: number;
}

/** A project with its usage figures (UsageQueries.of: the one usage query). */
export interface ProjectSummary extends ProjectRecord {
  /** Repositories holding content. */
  repositoryCount: number;
  /** Distinct blob bytes + distinct manifest bytes. */
  storageBytes: number;
}

export interface RobotRecord {
  id: number;
  name: string;
  project: string;
  secretHash: string;
  /** Actions per project. */
  permissions: Record<string, string[]>;
  expiresAt: number | null;
  lastUsedAt: number | null;
  createdAt: number;
}

export interface AccessTokenRecord {
  id: string;
  userId: number;
  name: string;
  secretHash: string;
  scopes: string[];
  expiresAt: number | null;
  lastUsedAt: number | null;
  createdAt: number;
}

export interface SessionRecord {
  userId: number;
  csrfToken: string;
  expiresAt: number;
}

export interface SigningKeyRecord {
  kid: string;
  privateJwk: string;
  createdAt: number;
  retiredAt: number | null;
}

/** A project's trust in an OIDC issuer's CI ID tokens (keyless CI login). */
export interface TrustPolicyRecord {
  id: number;
  project: string;
  issuer: string;
  audience: string;
  /** Claim name -> required value (exact, or a glob with `*`). */
  claims: Record<string, string>;
  /** Repository actions granted on the project. */
  permissions: string[];
  createdBy: string;
  createdAt: number;
}

/** A user whose account comes from an identity provider, and what its groups granted last time. */
export interface ExternalIdentityRecord {
  userId: number;
  provider: 'oidc' | 'ldap';
  subject: string;
  /** Project -> role granted by group mappings at the last sign-in. */
  granted: Record<string, Role>;
  syncedAt: number;
}

export interface AuditEvent {
  at: number;
  actor: string;
  action: string;
  resource: string;
  project: string | null;
  result: 'success' | 'failure';
  sourceAddress: string | null;
  detail: unknown;
}

export interface AuditRecord extends AuditEvent {
  id: number;
}

export interface AuditFilter {
  project?: string | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  /** Only events older than this one (keyset pagination, newest first: by time, then id). */
  before?: { at: number; id: number } | undefined;
  limit: number;
}

export interface AuthQueries {
  users: {
    byName(name: string): Promise<UserRecord | undefined>;
    byId(id: number): Promise<UserRecord | undefined>;
    /** Names in order after `after`, at most `limit`. */
    list(after: string | undefined, limit: number): Promise<UserRecord[]>;
    count(): Promise<number>;
    /** Throws ConflictError when the name is taken. */
    insert(u: { name: string; passwordHash: string; admin: boolean }, now: number): Promise<UserRecord>;
    /** `credentialsChangedAt`: set when a change voids the account's outstanding tokens (password, disable). */
    update(id: number, changes: { passwordHash?: string; admin?: boolean; disabled?: boolean; credentialsChangedAt?: number }, now: number): Promise<void>;
    delete(id: number): Promise<boolean>;
  };
  projects: {
    get(name: string): Promise<ProjectRecord | undefined>;
    /** With usage figures, names after `after`, at most `limit`; `names` restricts the set when given. */
    list(after: string | undefined, limit: number, names?: string[]): Promise<ProjectSummary[]>;
    summary(name: string): Promise<ProjectSummary | undefined>;
    /** Throws ConflictError when it exists. */
    insert(p: { name: string; public: boolean }, now: number): Promise<ProjectRecord>;
    update(name: string, changes: { public?: boolean }): Promise<boolean>;
    delete(name: string): Promise<boolean>;
    /** Every repository of the project, empty ones too (a project with any cannot be deleted). */
    repositoryCount(name: string): Promise<number>;
  };
  members: {
    role(project: string, userId: number): Promise<Role | undefined>;
    /** Roles of a user in every project they belong to. */
    rolesOf(userId: number): Promise<Record<string, Role>>;
    list(project: string): Promise<{ user: string; role: Role }[]>;
    set(project: string, userId: number, role: Role, now: number): Promise<void>;
    remove(project: string, userId: number): Promise<boolean>;
  };
  robots: {
    byName(name: string): Promise<RobotRecord | undefined>;
    list(project: string): Promise<RobotRecord[]>;
    insert(r: Omit<RobotRecord, 'id' | 'lastUsedAt'>): Promise<RobotRecord>;
    delete(name: string): Promise<boolean>;
    touch(name: string, at: number): Promise<void>;
  };
  tokens: {
    get(id: string): Promise<AccessTokenRecord | undefined>;
    list(userId: number): Promise<AccessTokenRecord[]>;
    insert(t: Omit<AccessTokenRecord, 'lastUsedAt'>): Promise<void>;
    delete(userId: number, id: string): Promise<boolean>;
    touch(id: string, at: number): Promise<void>;
  };
  sessions: {
    get(idHash: string): Promise<SessionRecord | undefined>;
    insert(idHash: string, s: SessionRecord, now: number): Promise<void>;
    delete(idHash: string): Promise<void>;
    deleteForUser(userId: number): Promise<void>;
    deleteExpired(now: number): Promise<void>;
  };
  keys: {
    list(): Promise<SigningKeyRecord[]>;
    insert(k: Omit<SigningKeyRecord, 'retiredAt'>): Promise<void>;
    retire(kid: string, at: number): Promise<void>;
    /** Rewrites a key's stored private JWK (sealing a key stored before encryption at rest). */
    replace(kid: string, privateJwk: string): Promise<void>;
    deleteRetiredBefore(at: number): Promise<void>;
  };
  /** Failed-login counters shared by every process and node, one fixed window per key. */
  loginFailures: {
    /** The keys among `keys` whose window is still open at `now`. */
    get(keys: string[], now: number): Promise<Map<string, { failures: number; resetAt: number }>>;
    /** Counts one failure (a window that ended starts again); returns the key's state after it. */
    record(key: string, windowMs: number, now: number): Promise<{ failures: number; resetAt: number }>;
    clear(key: string): Promise<void>;
    deleteExpired(now: number): Promise<number>;
  };
  trustPolicies: {
    /** A project's policies, oldest first. */
    list(project: string): Promise<TrustPolicyRecord[]>;
    /** Every policy (of any project) trusting `issuer`. */
    byIssuer(issuer: string): Promise<TrustPolicyRecord[]>;
    insert(p: Omit<TrustPolicyRecord, 'id'>): Promise<TrustPolicyRecord>;
    /** Deletes policy `id` of `project`; false when there is none. */
    delete(project: string, id: number): Promise<boolean>;
  };
  externalIdentities: {
    byUser(userId: number): Promise<ExternalIdentityRecord | undefined>;
    bySubject(provider: 'oidc' | 'ldap', subject: string): Promise<ExternalIdentityRecord | undefined>;
    /** Inserts or replaces the user's record. Throws ConflictError when another user holds (provider, subject). */
    put(r: ExternalIdentityRecord): Promise<void>;
  };
  audit: {
    insert(events: AuditEvent[]): Promise<void>;
    query(filter: AuditFilter): Promise<AuditRecord[]>;
    deleteBefore(at: number): Promise<number>;
  };
  /** The outbox (the same table as MetadataQueries.events), so an administrative change's event commits with it. */
  events: EventQueries;
}

export interface AuthStore extends AuthQueries {
  /** Runs `fn` in one transaction with the isolation named (default serializable); see MetadataStore.transaction. */
  transaction<T>(fn: (tx: AuthQueries) => Promise<T>, options?: TransactionOptions): Promise<T>;
}

export type UserQueries = AuthQueries['users'];
export type ProjectQueries = AuthQueries['projects'];
export type MemberQueries = AuthQueries['members'];
export type RobotQueries = AuthQueries['robots'];
export type TokenQueries = AuthQueries['tokens'];
export type SessionQueries = AuthQueries['sessions'];
export type KeyQueries = AuthQueries['keys'];
export type AuditQueries = AuthQueries['audit'];
export type LoginFailureQueries = AuthQueries['loginFailures'];
export type TrustPolicyQueries = AuthQueries['trustPolicies'];
export type ExternalIdentityQueries = AuthQueries['externalIdentities'];
