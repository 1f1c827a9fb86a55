/**
 * Configuration keys of access control (`auth`) and the audit log (`audit`). Kept apart from
 * schema.ts so that file stays a short list of sections; every key has a default and a
 * description like everywhere else.
 */
import { z } from 'zod';

export const authSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe('Require authentication and authorization. false runs an open registry: anyone may pull, push and delete anything (for tests and throwaway setups only).'),
    service: z.string().min(1).default('berth').describe('Service name in token challenges and the `aud` claim of registry tokens.'),
    issuer: z.string().min(1).default('berth').describe('The `iss` claim of registry tokens.'),
    realm: z
      .string()
      .url()
      .optional()
      .describe('Token endpoint URL announced in `WWW-Authenticate`. Default: <scheme>://<Host header>/auth/token of each request.'),
    tokenTtlSeconds: z.number().int().min(30).max(3600).default(300).describe('Lifetime of registry access tokens (JWT).'),
    refreshTokenTtlSeconds: z.number().int().min(60).default(30 * 24 * 3600).describe('Lifetime of refresh tokens (OAuth2 `refresh_token` grant, `docker login` identity tokens).'),
    credentialCacheSeconds: z
      .number()
      .int()
      .min(0)
      .max(600)
      .default(60)
      .describe('How long a verified password is remembered (keyed by a hash, never the password) so repeated Basic requests skip argon2. 0 disables the cache.'),
    sessionTtlHours: z.number().int().min(1).default(12).describe('Lifetime of a web UI session cookie.'),
    autoCreateProjects: z
      .boolean()
      .default(false)
      .describe('Create a missing project when a user pushes to it (the pusher becomes its admin). When false such a push is DENIED.'),
    projectCreation: z
      .enum(['everyone', 'adminOnly'])
      .default('everyone')
      .describe('Who may create projects through the API: every signed-in user, or only system admins.'),
    maxFailedLogins: z
      .number()
      .int()
      .min(1)
      .default(10)
      .describe(
        'Failed logins allowed per account from one client address within `failedLoginWindowSeconds` before that pair gets 429. Past this many failures from all addresses together a user\'s password checks are slowed (never refused); robots are never slowed. Counted in the metadata store, shared by every process and node.',
      ),
    maxFailedLoginsPerAddress: z.number().int().min(1).default(50).describe('Failed logins allowed per client address (over all accounts) within `failedLoginWindowSeconds` before 429.'),
    failedLoginWindowSeconds: z.number().int().min(1).default(300).describe('Window of the failed-login limits; also the longest Retry-After sent.'),
    failedLoginMaxDelayMs: z.number().int().min(0).max(10000).default(2000).describe('Longest slowdown of a password check for a user whose failures from all addresses passed `maxFailedLogins`.'),
    oidc: z
      .strictObject({
        issuer: z.string().url().describe('The identity provider\'s issuer URL (its discovery document is <issuer>/.well-known/openid-configuration).'),
        clientId: z.string().min(1).describe('Client id Berth is registered with at the provider.'),
        clientSecret: z.string().min(1).optional().describe('Client secret (BERTH_AUTH__OIDC__CLIENT_SECRET keeps it out of the file); absent: a public client (PKCE only).'),
        scopes: z.array(z.string().min(1)).default(['openid', 'profile', 'email', 'groups']).describe('Scopes requested at sign-in.'),
        usernameClaim: z.string().default('preferred_username').describe('Claim that names the Berth user (falls back to email, then sub); created on first sign-in.'),
        groupsClaim: z.string().default('groups').describe('Claim listing the user\'s groups (read from the ID token, else from userinfo), matched against `auth.groupMappings` and `auth.adminGroups`.'),
        buttonLabel: z.string().min(1).max(60).default('Sign in with SSO').describe('Label of the sign-in button in the web UI.'),
        redirectUrl: z.string().url().optional().describe('The callback URL registered at the provider. Default: <scheme>://<Host>/api/v1/auth/oidc/callback of the request.'),
        allowHttp: z.boolean().default(false).describe('Accept an http:// issuer (loopback test providers only).'),
        timeoutSeconds: z.number().min(0.1).max(60).default(10).describe('Timeout of requests to the provider.'),
      })
      .optional()
      .describe('OIDC sign-in for the web UI (authorization code flow with PKCE). Users are created on first sign-in; their groups map to roles at every sign-in. Robot accounts and personal access tokens stay independent of the OIDC session.'),
    ldap: z
      .strictObject({
        url: z.string().regex(/^ldaps?:\/\/[^/]+\/?$/, 'an ldap:// or ldaps:// URL with host and port only').describe('Directory URL: ldaps://host:636, or ldap://host:389 (with `startTls` for an encrypted connection).'),
        startTls: z.boolean().default(false).describe('Upgrade an ldap:// connection with StartTLS before binding.'),
        caFile: z.string().optional().describe('PEM file of the CA that signed the directory\'s certificate (default: the system\'s CAs).'),
        bindDn: z.string().min(1).describe('DN of the service account that searches for users and groups.'),
        bindPassword: z.string().min(1).describe('Password of the service account (BERTH_AUTH__LDAP__BIND_PASSWORD keeps it out of the file).'),
        userBase: z.string().min(1).describe('Base DN of the user search.'),
        userFilter: z.string().default('(uid={username})').describe('Filter that finds a user; `{username}` is the escaped name given at login.'),
        usernameAttribute: z.string().default('uid').describe('Attribute holding the Berth user name.'),
        groupBase: z.string().optional().describe('Base DN of the group search; when absent, a user\'s groups are its `memberOf` values (their first RDN, e.g. cn).'),
        groupFilter: z.string().default('(member={dn})').describe('Filter that finds a user\'s groups; `{dn}` is the user\'s DN, `{username}` its name (both escaped).'),
        groupNameAttribute: z.string().default('cn').describe('Attribute holding a group\'s name (matched against `auth.groupMappings`).'),
        timeoutSeconds: z.number().min(0.1).max(60).default(5).describe('Connect and operation timeout; past it the login fails with a clear error (never against an old password).'),
      })
      .optional()
      .describe('Check passwords against an LDAP directory (Basic on /v2, /auth/token, UI sign-in); users are created on first login. Local accounts (the bootstrap admin) keep their own passwords. Verified logins are remembered for `auth.credentialCacheSeconds`.'),
    groupMappings: z
      .array(z.strictObject({ group: z.string().min(1).describe('Group name from the identity provider (OIDC groups claim, LDAP group name).'), project: z.string().min(1).describe('Project.'), role: z.enum(['guest', 'developer', 'maintainer', 'admin']).describe('Role granted in the project.') }))
      .default([])
      .describe('Project roles granted to members of identity-provider groups, applied at every OIDC or LDAP sign-in; a role the groups no longer give is removed.'),
    adminGroups: z.array(z.string().min(1)).default([]).describe('Members of any of these identity-provider groups are system admins (set and removed at every sign-in). Empty: admin status is managed by hand.'),
    workloadIdentity: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Accept keyless CI logins: user name `oidc`, an OIDC ID token as the password, checked against the trust policies of projects (`/api/v1/projects/{name}/trust-policies`).'),
        allowHttpIssuers: z.boolean().default(false).describe('Accept trust policies and tokens of `http://` issuers (test providers on loopback only; real issuers are https).'),
        jwksCooldownSeconds: z.number().min(0).max(3600).default(30).describe('Least time between two fetches of one issuer\'s JWKS; a token signed by an unknown key id fetches it again after this.'),
        jwksMaxAgeSeconds: z.number().int().min(1).default(600).describe('How long a fetched JWKS is used before it is fetched again.'),
        fetchTimeoutSeconds: z.number().min(0.1).max(60).default(5).describe('Timeout of a request for an issuer\'s discovery document or JWKS.'),
        clockSkewSeconds: z.number().int().min(0).max(300).default(30).describe('Leeway for the `exp`, `nbf` and `iat` claims of ID tokens.'),
      })
      .prefault({})
      .describe('Keyless CI login by workload identity (OIDC ID tokens of GitLab CI, GitHub Actions, Jenkins, CircleCI).'),
    keyEncryptionKey: z
      .string()
      .min(32)
      .optional()
      .describe(
        'Secret (32 characters or more) that encrypts the token-signing private keys stored in the metadata database. Default: a random key created in <dataDir>/signing-keys.key. Several nodes sharing one database must all set the same value.',
      ),
  })
  .prefault({})
  .describe('Access control: accounts, projects, roles, robots, tokens.');

export const auditSchema = z
  .strictObject({
    retentionDays: z.number().int().min(1).default(90).describe('Audit events older than this are deleted (checked hourly).'),
    recordPulls: z.boolean().default(true).describe('Record manifest pulls in the audit log (blob reads are never recorded).'),
    unauthenticatedPerMinute: z.number().int().min(1).default(60).describe('Audit events that callers without credentials cause (anonymous requests, failed logins) recorded per source address per minute; the rest are counted in one summary event per minute.'),
    unauthenticatedPerMinuteTotal: z.number().int().min(1).default(600).describe('The same, across all source addresses together.'),
  })
  .prefault({})
  .describe('Audit log.');
