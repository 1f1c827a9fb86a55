/** The services behind /api/v1, built by the composition root (src/main.ts) and handed to the routes. */
import type { AuditLog } from '../../audit/audit-log.js';
import type { Authenticator } from '../../auth/authenticator.js';
import type { TokenIssuer } from '../../auth/token-issuer.js';
import type { Lifecycle } from '../../lifecycle/services.js';
import type { ReadOnlyMode } from '../../ops/read-only.js';
import type { ProjectService } from './projects.js';
import type { RepositoryService } from './repositories.js';
import type { RobotService } from './robots.js';
import type { UserService } from './users.js';

export interface ApiServices {
  projects: ProjectService;
  robots: RobotService;
  users: UserService;
  repositories: RepositoryService;
  lifecycle: Lifecycle;
  audit: AuditLog;
  authenticator: Authenticator;
  sessionTtlMs: number;
  tokens: TokenIssuer;
  readOnly: ReadOnlyMode;
}
