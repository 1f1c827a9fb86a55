/**
 * Builds access control from the configuration: the auth store over the metadata database,
 * the policy service, the token issuer (keys loaded or created), the authenticator and its
 * caches, the audit log, the /api/v1 services, and the HTTP pieces (principal hook, /v2
 * authorizer, token endpoint, management API). Called from main.ts; nothing here is global.
 */
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { apiPlugin, API_PREFIX } from '../api/plugin.js';
import { ProjectService } from '../api/services/projects.js';
import { RepositoryService } from '../api/services/repositories.js';
import { RobotService } from '../api/services/robots.js';
import { UserService } from '../api/services/users.js';
import { AuditLog } from '../audit/audit-log.js';
import type { Config } from '../config/schema.js';
import { LifecycleSettings } from '../lifecycle/settings.js';
import { BrowseQueries } from '../metadata/sql/browse.js';
import { SqlAuthStore } from '../metadata/sql/auth-store.js';
import { SqlMetadataStore } from '../metadata/sql/store.js';
import type { MetadataStore } from '../metadata/store.js';
import { AccessService } from '../policy/access.js';
import type { ManifestService } from '../registry/manifests.js';
import { allowAll, type RegistryAuthorizer } from '../registry/routes/index.js';
import type { BlobStore } from '../storage/blob-store.js';
import { Authenticator } from './authenticator.js';
import { CredentialCache } from './credential-cache.js';
import { installAuthentication, installRegistryAudit, registryAuthorizer } from './http-auth.js';
import { KeySealer } from './key-sealing.js';
import { LoginLimiter } from './login-limiter.js';
import { TokenIssuer } from './token-issuer.js';
import { tokenRoutes } from './token-routes.js';
import { installPermissionHook } from '../api/plugin.js';

export interface AccessControl {
  authorizer: RegistryAuthorizer;
  /** Root hooks: principal resolution and /v2 audit (installed before any route). */
  installHooks(app: FastifyInstance): void;
  /** The token endpoint and the management API. */
  plugins: ((app: FastifyInstance) => Promise<void>)[];
  /** Installs the management API's permission hook in a feature plugin's own context. */
  guardApi(app: FastifyInstance): void;
  tokens: TokenIssuer;
  audit: AuditLog;
  close(): Promise<void>;
}

export async function createAccessControl(
  config: Config,
  deps: { meta: MetadataStore; blobs: BlobStore; manifests: ManifestService; logger: Logger; adminPassword?: string | undefined },
): Promise<AccessControl> {
  if (!(deps.meta instanceof SqlMetadataStore)) throw new Error('access control needs the SQL metadata store');
  const db = deps.meta.db;
  const a = config.auth;
  const store = new SqlAuthStore(db);
  const audit = new AuditLog(store, { retentionDays: config.audit.retentionDays, unauthenticatedPerMinute: config.audit.unauthenticatedPerMinute, unauthenticatedPerMinuteTotal: config.audit.unauthenticatedPerMinuteTotal });
  const access = new AccessService(store, { autoCreateProjects: a.autoCreateProjects, projectCreation: a.projectCreation });
  const sealer = await KeySealer.open(a.keyEncryptionKey, resolve(config.dataDir, 'signing-keys.key'));
  const tokens = new TokenIssuer(store, { issuer: a.issuer, service: a.service, accessTtlSeconds: a.tokenTtlSeconds, refreshTtlSeconds: a.refreshTokenTtlSeconds }, sealer);
  await tokens.init();
  const limiter = new LoginLimiter(store.loginFailures, {
    maxPerAccountAddress: a.maxFailedLogins,
    maxPerAddress: a.maxFailedLoginsPerAddress,
    windowMs: a.failedLoginWindowSeconds * 1000,
    maxDelayMs: a.failedLoginMaxDelayMs,
  });
  const authenticator = new Authenticator(store, tokens, new CredentialCache(a.credentialCacheSeconds * 1000), limiter, audit);
  const sessionTtlMs = a.sessionTtlHours * 3600_000;
  const users = new UserService(store, authenticator, audit, sessionTtlMs);

  if (a.enabled) {
    const boot = await users.bootstrap(deps.adminPassword);
    if (boot.generated) {
      // Printed once, on the first start with an empty database; never logged again.
      process.stdout.write(`\nberth: created the system admin "admin" with password: ${boot.generated}\nberth: change it with \`berth user passwd admin\` or set BERTH_ADMIN_PASSWORD on first start.\n\n`);
    } else if (boot.created) deps.logger.info('created the system admin "admin" from BERTH_ADMIN_PASSWORD');
  }

  const httpOptions = { service: a.service, realm: a.realm, autoCreateProjects: a.autoCreateProjects };
  const services = {
    projects: new ProjectService(store, access, audit, new LifecycleSettings(deps.meta)),
    robots: new RobotService(store, authenticator, audit),
    users,
    repositories: new RepositoryService(deps.meta, new BrowseQueries(db), deps.blobs, deps.manifests, access, audit, a.enabled),
    audit,
    authenticator,
    sessionTtlMs,
    tokens,
  };

  return {
    authorizer: a.enabled ? registryAuthorizer(access, store, audit, httpOptions, authenticator) : allowAll,
    installHooks(app) {
      installAuthentication(app, authenticator, httpOptions);
      installRegistryAudit(app, audit, config.audit.recordPulls);
    },
    plugins: [
      tokenRoutes({ access, authenticator, tokens, audit, service: a.service }),
      async (app) => {
        await app.register(apiPlugin(services, access, a.enabled), { prefix: API_PREFIX });
      },
    ],
    guardApi(app) {
      installPermissionHook(app, access, a.enabled);
    },
    tokens,
    audit,
    async close() {
      await audit.close();
    },
  };
}
