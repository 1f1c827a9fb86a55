/** The services behind /api/v1, built by the composition root (src/main.ts) and handed to the routes. */
import type { AuditLog } from '../../audit/audit-log.js';
import type { Authenticator } from '../../auth/authenticator.js';
import type { TokenIssuer } from '../../auth/token-issuer.js';
import type { GroupSync } from '../../auth/group-sync.js';
import type { OidcSignIn } from '../../auth/oidc.js';
import type { Lifecycle } from '../../lifecycle/services.js';
import type { ReadOnlyMode } from '../../ops/read-only.js';
import type { ProjectService } from './projects.js';
import type { ProxyAdminService } from './proxies.js';
import type { RepositoryService } from './repositories.js';
import type { RobotService } from './robots.js';
import type { SecurityApi } from './security.js';
import type { SigningApi } from './signing.js';
import type { TrustPolicyService } from './trust-policies.js';
import type { UserService } from './users.js';
import type { WebhookService } from './webhooks.js';
import type { ReplicationService } from './replication.js';

export interface ApiServices {
  projects: ProjectService;
  robots: RobotService;
  trustPolicies: TrustPolicyService;
  users: UserService;
  repositories: RepositoryService;
  security: SecurityApi;
  lifecycle: Lifecycle;
  audit: AuditLog;
  authenticator: Authenticator;
  sessionTtlMs: number;
  tokens: TokenIssuer;
  signing: SigningApi;
  proxies: ProxyAdminService;
  /** OIDC sign-in for the UI, when `auth.oidc` is configured. */
  oidc?: { signIn: OidcSignIn; groups: GroupSync; label: string; redirectUrl?: string | undefined } | undefined;
  webhooks: WebhookService;
  replication: ReplicationService;
  readOnly: ReadOnlyMode;
}
