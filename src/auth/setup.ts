/**
 * Wires access control from the `auth` settings: the policy's facts (`AccessService`), the
 * token issuer, the login limiter, the identity providers (workload identity, LDAP, group
 * mappings) and the authenticator, with access changes announced on the change feed (see
 * src/policy/access-changes.ts). The composition root (src/main.ts) calls it once.
 */
import type { AuditLog } from '../audit/audit-log.js';
import type { Config } from '../config/schema.js';
import type { ChangeFeed } from '../metadata/change-feed.js';
import type { SqlAuthStore } from '../metadata/sql/auth-store.js';
import { AccessChanges } from '../policy/access-changes.js';
import { AccessService } from '../policy/access.js';
import { Authenticator } from './authenticator.js';
import { CredentialCache } from './credential-cache.js';
import { GroupSync } from './group-sync.js';
import type { KeySealer } from './key-sealing.js';
import { LdapDirectory } from './ldap.js';
import { LoginLimiter } from './login-limiter.js';
import { TokenIssuer } from './token-issuer.js';
import { WorkloadIdentity } from './workload-identity.js';

export interface AccessControl {
  access: AccessService;
  tokens: TokenIssuer;
  authenticator: Authenticator;
  workload: WorkloadIdentity | undefined;
  groups: GroupSync;
}

export async function createAccessControl(a: Config['auth'], deps: { authStore: SqlAuthStore; audit: AuditLog; changes: ChangeFeed; sealer: KeySealer }): Promise<AccessControl> {
  const { authStore, audit, sealer } = deps;
  const accessChanges = new AccessChanges(deps.changes);
  const access = new AccessService(authStore, { autoCreateProjects: a.autoCreateProjects, projectCreation: a.projectCreation, changes: accessChanges });
  const tokens = new TokenIssuer(authStore, { issuer: a.issuer, service: a.service, accessTtlSeconds: a.tokenTtlSeconds, refreshTtlSeconds: a.refreshTokenTtlSeconds }, sealer, Date.now, accessChanges);
  await tokens.init();
  const limiter = new LoginLimiter(authStore.loginFailures, {
    maxPerAccountAddress: a.maxFailedLogins,
    maxPerAddress: a.maxFailedLoginsPerAddress,
    windowMs: a.failedLoginWindowSeconds * 1000,
    maxDelayMs: a.failedLoginMaxDelayMs,
  });
  const wi = a.workloadIdentity;
  const workload = wi.enabled
    ? new WorkloadIdentity(authStore, { allowHttpIssuers: wi.allowHttpIssuers, jwksCooldownMs: wi.jwksCooldownSeconds * 1000, jwksMaxAgeMs: wi.jwksMaxAgeSeconds * 1000, fetchTimeoutMs: wi.fetchTimeoutSeconds * 1000, clockToleranceSeconds: wi.clockSkewSeconds })
    : undefined;
  // Accounts of identity providers (LDAP, OIDC) get their project roles from their groups.
  const groups = new GroupSync(authStore, audit, { mappings: a.groupMappings, adminGroups: a.adminGroups }, () => void access.invalidate());
  const ldap = a.ldap ? new LdapDirectory({ ...a.ldap, timeoutMs: a.ldap.timeoutSeconds * 1000 }) : undefined;
  const authenticator = new Authenticator(authStore, tokens, new CredentialCache(a.credentialCacheSeconds * 1000), limiter, audit, Date.now, { workload, ldap, groups }, accessChanges);
  return { access, tokens, authenticator, workload, groups };
}
