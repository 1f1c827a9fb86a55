/**
 * Turns a request's credentials into a Principal: Basic (user password, personal access
 * token, or robot secret), Bearer (registry JWT or personal access token), or the UI session
 * cookie. Passwords go through argon2 once and are then remembered briefly in the credential
 * cache; registry tokens are verified from the in-memory keys and accepted on /v2 only, for
 * exactly their grants. Whether a token's account still stands (same account, enabled,
 * credentials unchanged since issue) is read from the shared database, so a revocation holds
 * on every process and node and across restarts. Failed logins are throttled through the
 * shared store (login-limiter.ts) and written to the audit log.
 */
import { ANONYMOUS, principalName, type Principal } from '../policy/principal.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AccessTokenRecord, AuthStore, RobotRecord, UserRecord } from '../metadata/auth-store.js';
import { isRepositoryAction, type RepositoryAction } from '../policy/roles.js';
import type { CredentialCache } from './credential-cache.js';
import type { LoginLimiter } from './login-limiter.js';
import { burnPasswordCheck, parseAccessToken, sameHash, sha256Hex, verifyPassword } from './secrets.js';
import { TokenError, type TokenIssuer, type TokenOrigin } from './token-issuer.js';
import { WORKLOAD_USER, WorkloadIdentity, WorkloadIdentityError } from './workload-identity.js';
import { SignInRefused, type GroupSync } from './group-sync.js';
import { LdapUnavailable, type LdapDirectory } from './ldap.js';
import { AccessChanges } from '../policy/access-changes.js';

/** Identity providers beside local accounts; each is absent when not configured. */
export interface IdentityProviders {
  /** Keyless CI login (user `oidc`, an ID token as the password) through projects' trust policies. */
  workload?: WorkloadIdentity | undefined;
  /** Passwords of accounts that are not local are checked against this directory. */
  ldap?: LdapDirectory | undefined;
  /** Creates provider accounts and applies their groups' roles (needed with `ldap`). */
  groups?: GroupSync | undefined;
}

export const SESSION_COOKIE = 'berth_session';

export type Credentials =
  | { kind: 'none' }
  | { kind: 'basic'; user: string; secret: string }
  | { kind: 'bearer'; token: string }
  | { kind: 'session'; id: string }
  | { kind: 'malformed'; reason: string };

/** A credential was presented and is not good (401), or too many failures (429). */
export class AuthFailure extends Error {
  override readonly name = 'AuthFailure';
  constructor(
    message: string,
    readonly retryAfter?: number,
    /** The credential could not be checked (an identity provider is down): not counted as a failed login. */
    readonly unavailable = false,
  ) {
    super(message);
  }
}

export interface RequestInfo {
  headers: Record<string, string | string[] | undefined>;
  ip: string;
  /** The request's connection (its socket), where it has one: keys what is verified once per connection. */
  connection?: object;
}

export function readCredentials(headers: RequestInfo['headers']): Credentials {
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth !== '') {
    const space = auth.indexOf(' ');
    const scheme = (space < 0 ? auth : auth.slice(0, space)).toLowerCase();
    const value = space < 0 ? '' : auth.slice(space + 1).trim();
    if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i < 0) return { kind: 'malformed', reason: 'Basic credentials must be base64(user:password)' };
      return { kind: 'basic', user: decoded.slice(0, i), secret: decoded.slice(i + 1) };
    }
    if (scheme === 'bearer' && value !== '') return { kind: 'bearer', token: value };
    return { kind: 'malformed', reason: `unsupported Authorization scheme ${scheme.slice(0, 20)}` };
  }
  const cookie = headers.cookie;
  if (typeof cookie === 'string') {
    for (const part of cookie.split(';')) {
      const [k, v] = part.trim().split('=', 2);
      if (k === SESSION_COOKIE && v) return { kind: 'session', id: v };
    }
  }
  return { kind: 'none' };
}

type Verified = Exclude<Principal, { kind: 'anonymous' } | { kind: 'token' }>;

/** Where a request came from: /v2 takes registry tokens; /auth/token and /api/v1 take credentials only. */
export type Area = 'registry' | 'other';

/**
 * How long this process trusts what it read about a registry token's account (exists, same
 * id, credentials unchanged since the token was issued) before reading it again. A change made
 * anywhere takes effect at once regardless (`accountsChanged` announces it through the change
 * feed, and the cache is trusted only behind the feed's barrier); this bounds what an
 * unannounced change (an edit of the database by hand) can leave cached. Refresh tokens are
 * always checked against the database.
 */
const ACCOUNT_RECHECK_MS = 2000;

/** A verified credential and when it was verified (a change of credentials after that voids it). */
interface Remembered {
  principal: Verified;
  verifiedAt: number;
}

/** What the database says of a token's account: the principal, and the time before which tokens are void. */
interface AccountState {
  principal: Verified;
  validAfter: number;
}

export class Authenticator {
  constructor(
    private readonly store: AuthStore,
    private readonly tokens: TokenIssuer,
    private readonly cache: CredentialCache<Remembered>,
    private readonly limiter: LoginLimiter,
    private readonly audit: AuditLog,
    private readonly now: () => number = Date.now,
    private readonly providers: IdentityProviders = {},
    private readonly changes: AccessChanges = new AccessChanges(),
  ) {
    changes.onChange('accounts', () => this.forget());
  }

  /** Token accounts recently read: by subject, id and personal access token id. */
  private accounts = new Map<string, { state: AccountState | undefined; until: number }>();

  /**
   * The principal of a request. On /v2 (`area` 'registry') a Bearer JWT is exactly its grants;
   * anywhere else it is refused: a registry token is never a login (it cannot change a
   * password, create tokens or mint wider tokens).
   */
  async resolve(req: RequestInfo, area: Area): Promise<Principal & { csrfToken?: string }> {
    const c = readCredentials(req.headers);
    switch (c.kind) {
      case 'none':
        return ANONYMOUS;
      case 'malformed':
        throw new AuthFailure(c.reason);
      case 'basic':
        return this.login(c.user, c.secret, req.ip, 'basic');
      case 'session':
        return this.session(c.id);
      case 'bearer': {
        if (parseAccessToken(c.token)) return this.accessToken(undefined, c.token, req.ip);
        if (area !== 'registry') throw new AuthFailure('a registry token is accepted on /v2 only; sign in with a password, a personal access token or a robot secret');
        let claims;
        try {
          claims = await this.tokens.verifyAccess(c.token, req.connection);
        } catch (e) {
          if (e instanceof TokenError) throw new AuthFailure(e.message);
          throw e;
        }
        if (claims.origin && !(await this.originLive(claims.subject, claims.origin, true))) throw new AuthFailure('invalid token: its account was deleted, disabled or changed its credentials');
        return { kind: 'token', subject: claims.subject, grants: claims.grants };
      }
    }
  }

  /**
   * Checks a user name and secret (password, personal access token, or robot secret) as a
   * login: throttled, audited when actually verified. Throws AuthFailure.
   */
  async login(user: string, secret: string, address: string, via: string): Promise<Verified> {
    // No account has one, and PostgreSQL text cannot hold one: refuse before any lookup.
    if (user.includes('\0') || secret.includes('\0')) throw new AuthFailure('user names and secrets cannot contain NUL characters');
    if (user === WORKLOAD_USER && this.providers.workload) return this.workload(secret, address, via);
    const key = this.cache.keyOf(user, secret);
    const cached = await this.remembered(key);
    if (cached) return cached;
    const robot = user.startsWith('robot$');
    const gate = await this.limiter.check(user, address, robot);
    if (gate.retryAfter > 0) {
      if (gate.firstRefusal) this.audit.record({ actor: user, action: 'login', resource: `user:${user}`, result: 'failure', sourceAddress: address, detail: { via, reason: 'rate limited' } });
      throw new AuthFailure(`too many failed logins; retry in ${gate.retryAfter} seconds`, gate.retryAfter);
    }
    if (gate.delayMs > 0) await new Promise((r) => setTimeout(r, gate.delayMs));
    let p: Verified | undefined;
    let reason = 'invalid user name or password';
    try {
      if (robot) p = await this.robot(user, secret);
      else if (parseAccessToken(secret)) p = await this.accessToken(user, secret, address);
      else p = await this.password(user, secret, address);
    } catch (e) {
      if (!(e instanceof AuthFailure)) throw e;
      if (e.unavailable) {
        this.audit.record({ actor: user, action: 'login', resource: `user:${user}`, result: 'failure', sourceAddress: address, detail: { via, reason: e.message } });
        throw e;
      }
      reason = e.message;
    }
    if (!p) {
      await this.limiter.fail(user, address, robot);
      this.audit.record({ actor: user, action: 'login', resource: `user:${user}`, result: 'failure', sourceAddress: address, detail: { via, reason } });
      throw new AuthFailure(reason);
    }
    await this.limiter.succeed(user, address);
    this.cache.set(key, { principal: p, verifiedAt: this.now() });
    this.audit.record({ actor: user, action: 'login', resource: `user:${user}`, result: 'success', sourceAddress: address, detail: { via } });
    return p;
  }

  /** A directory login: the directory checks the password; the account and its roles follow its groups. */
  private async directory(name: string, password: string, address: string): Promise<Verified | undefined> {
    let found;
    try {
      found = await this.providers.ldap!.authenticate(name, password);
    } catch (e) {
      if (e instanceof LdapUnavailable) throw new AuthFailure(e.message, undefined, true);
      throw e;
    }
    if (!found) return undefined;
    try {
      return userPrincipal(await this.providers.groups!.signIn('ldap', found.dn, found.name, found.groups, address), 'password');
    } catch (e) {
      if (e instanceof SignInRefused) throw new AuthFailure(e.message);
      throw e;
    }
  }

  /**
   * A CI job's ID token: throttled like a robot (per address, never slowed), audited with the
   * issuer and subject. Not kept in the credential cache: the token carries its own expiry and
   * the verifier keeps the issuer's keys and policies warm.
   */
  private async workload(token: string, address: string, via: string): Promise<Verified> {
    const known = this.providers.workload!.remembered(token);
    if (known) return known;
    // Throttled per claimed subject and address (like a robot: refused past the limit, never
    // slowed), so one job retrying a bad token does not lock out every job behind its address.
    const account = `${WORKLOAD_USER}:${WorkloadIdentity.claimedSubject(token)}`;
    const gate = await this.limiter.check(account, address, true);
    if (gate.retryAfter > 0) throw new AuthFailure(`too many failed logins; retry in ${gate.retryAfter} seconds`, gate.retryAfter);
    let p;
    try {
      p = await this.providers.workload!.verify(token);
    } catch (e) {
      if (!(e instanceof WorkloadIdentityError)) throw e;
      await this.limiter.fail(account, address, true);
      this.audit.record({ actor: WORKLOAD_USER, action: 'login', resource: `user:${WORKLOAD_USER}`, result: 'failure', sourceAddress: address, detail: { via, kind: 'workload', reason: e.message } });
      throw new AuthFailure(e.message);
    }
    this.audit.record({ actor: p.name, action: 'login', resource: `user:${WORKLOAD_USER}`, result: 'success', sourceAddress: address, detail: { via, kind: 'workload', issuer: p.issuer, subject: p.subject, permissions: p.permissions } });
    return p;
  }

  private async password(name: string, password: string, address: string): Promise<Verified | undefined> {
    const u = await this.store.users.byName(name);
    // With a directory, every account but the local ones (a real password hash here) is the directory's.
    if (this.providers.ldap && (!u || u.passwordHash.startsWith('!'))) return this.directory(name, password, address);
    if (!u) {
      await burnPasswordCheck(password);
      return undefined;
    }
    if (!(await verifyPassword(u.passwordHash, password))) return undefined;
    if (u.disabled) throw new AuthFailure(`user ${name} is disabled`);
    return userPrincipal(u, 'password');
  }

  private async robot(name: string, secret: string): Promise<Verified | undefined> {
    const r = await this.store.robots.byName(name);
    if (!r || !sameHash(r.secretHash, sha256Hex(secret))) return undefined;
    if (r.expiresAt !== null && r.expiresAt <= this.now()) throw new AuthFailure(`robot ${name} expired at ${new Date(r.expiresAt).toISOString()}`);
    if (r.lastUsedAt === null || this.now() - r.lastUsedAt > 60_000) void this.store.robots.touch(name, this.now()).catch(() => {});
    return robotPrincipal(r);
  }

  private async accessToken(user: string | undefined, token: string, _address: string): Promise<Verified> {
    const parsed = parseAccessToken(token)!;
    const cacheKey = this.cache.keyOf('\0pat', token);
    const cached = await this.remembered(cacheKey);
    if (cached && (user === undefined || (cached.kind === 'user' && cached.name === user))) return cached;
    const t = await this.store.tokens.get(parsed.id);
    if (!t || !sameHash(t.secretHash, sha256Hex(parsed.secret))) throw new AuthFailure('invalid personal access token');
    if (t.expiresAt !== null && t.expiresAt <= this.now()) throw new AuthFailure(`personal access token ${t.name} expired`);
    const u = await this.store.users.byId(t.userId);
    if (!u || (user !== undefined && u.name !== user)) throw new AuthFailure('invalid personal access token');
    if (u.disabled) throw new AuthFailure(`user ${u.name} is disabled`);
    if (t.lastUsedAt === null || this.now() - t.lastUsedAt > 60_000) void this.store.tokens.touch(t.id, this.now()).catch(() => {});
    const p = patPrincipal(u, t);
    this.cache.set(cacheKey, { principal: p, verifiedAt: this.now() });
    return p;
  }

  private async session(id: string): Promise<Verified & { csrfToken: string }> {
    const s = await this.store.sessions.get(sha256Hex(id));
    if (!s || s.expiresAt <= this.now()) throw new AuthFailure('session expired; sign in again');
    const u = await this.store.users.byId(s.userId);
    if (!u || u.disabled) throw new AuthFailure('session expired; sign in again');
    return { ...userPrincipal(u, 'session'), csrfToken: s.csrfToken };
  }

  /** The current principal of a token subject (a user or robot name), undefined if gone or disabled. */
  async subject(subject: string): Promise<Verified | undefined> {
    if (subject.startsWith('robot$')) {
      const r = await this.store.robots.byName(subject);
      if (!r || (r.expiresAt !== null && r.expiresAt <= this.now())) return undefined;
      return robotPrincipal(r);
    }
    const u = await this.store.users.byName(subject);
    return u && !u.disabled ? userPrincipal(u, 'password') : undefined;
  }

  /** The origin to write into tokens issued to `p` (undefined for anonymous callers). */
  originOf(p: Principal): TokenOrigin | undefined {
    switch (p.kind) {
      case 'user':
        if (p.via === 'pat' && p.tokenId !== undefined) return this.tokens.originNow({ account: p.id, via: 'pat', pat: p.tokenId });
        return this.tokens.originNow({ account: p.id, via: 'password' });
      case 'robot':
        return this.tokens.originNow({ account: p.id, via: 'robot' });
      case 'workload':
        return this.tokens.originNow({ account: 0, via: 'workload' });
      default:
        return undefined;
    }
  }

  /**
   * The principal a refresh token stands for, read from the database now: the same account
   * (not a later one of that name), enabled, credentials unchanged since the token was issued,
   * and for a personal access token that token still existing, with its scopes. Throws AuthFailure.
   */
  async refresh(token: string): Promise<Verified> {
    let claims;
    try {
      claims = await this.tokens.verifyRefresh(token);
    } catch (e) {
      if (e instanceof TokenError) throw new AuthFailure(e.message);
      throw e;
    }
    const state = await this.accountState(claims.subject, claims.origin);
    if (!state || claims.origin.at <= state.validAfter) throw new AuthFailure(`refresh token of ${claims.subject} is no longer valid (account deleted or disabled, password changed, or its access token deleted); log in again`);
    return state.principal;
  }

  /**
   * A credential verified earlier, if its account still stands as it did then: the cache spares
   * argon2, not the revocation check, which reads the account at most every ACCOUNT_RECHECK_MS.
   */
  private async remembered(key: string): Promise<Verified | undefined> {
    const hit = this.cache.get(key);
    if (!hit) return undefined;
    const origin = this.originOf(hit.principal)!;
    if (await this.originLive(principalName(hit.principal), { ...origin, at: hit.verifiedAt }, true)) return hit.principal;
    this.cache.delete(key);
    return undefined;
  }

  /** Whether a registry token's origin still stands; read at most every ACCOUNT_RECHECK_MS when `cached`. */
  private async originLive(subject: string, origin: TokenOrigin, cached: boolean): Promise<boolean> {
    // A CI job's token holds exactly what its ID token was granted, and expires with it.
    if (origin.via === 'workload') return true;
    const key = `${subject}\0${origin.account}\0${origin.pat ?? ''}`;
    // Trusted only behind the change feed's barrier: a revocation anywhere is seen at once.
    let hit = cached && (await this.changes.fresh()) ? this.accounts.get(key) : undefined;
    if (!hit || hit.until <= this.now()) {
      hit = { state: await this.accountState(subject, origin), until: this.now() + ACCOUNT_RECHECK_MS };
      if (this.accounts.size >= 10_000) this.accounts = new Map();
      this.accounts.set(key, hit);
    }
    return hit.state !== undefined && origin.at > hit.state.validAfter;
  }

  /** The account a token's origin names, as it is now; undefined when it is gone, another, disabled or expired. */
  private async accountState(subject: string, origin: TokenOrigin): Promise<AccountState | undefined> {
    if (origin.via === 'workload') return undefined; // no refresh: log in again with a new ID token
    if (origin.via === 'robot') {
      const r = await this.store.robots.byName(subject);
      if (!r || r.id !== origin.account || (r.expiresAt !== null && r.expiresAt <= this.now())) return undefined;
      return { principal: robotPrincipal(r), validAfter: r.createdAt - 1 };
    }
    const u = await this.store.users.byName(subject);
    if (!u || u.id !== origin.account || u.disabled) return undefined;
    if (origin.via === 'pat') {
      const t = await this.store.tokens.get(origin.pat!);
      if (!t || t.userId !== u.id || (t.expiresAt !== null && t.expiresAt <= this.now())) return undefined;
      return { principal: patPrincipal(u, t), validAfter: u.credentialsChangedAt };
    }
    return { principal: userPrincipal(u, 'password'), validAfter: u.credentialsChangedAt };
  }

  /** Call after a committed change to accounts, robots or tokens: every process forgets what it remembers of them. */
  accountsChanged(): Promise<void> {
    this.forget();
    return this.changes.changed('accounts');
  }

  private forget(): void {
    this.cache.clear();
    this.accounts = new Map();
  }
}

export function userPrincipal(u: UserRecord, via: 'password' | 'session'): Verified {
  return { kind: 'user', id: u.id, name: u.name, admin: u.admin, via };
}

function patPrincipal(u: UserRecord, t: AccessTokenRecord): Verified {
  return { kind: 'user', id: u.id, name: u.name, admin: u.admin, via: 'pat', tokenId: t.id, ...(t.scopes.length > 0 ? { scopes: new Set(t.scopes) } : {}) };
}

function robotPrincipal(r: RobotRecord): Verified {
  return { kind: 'robot', id: r.id, name: r.name, project: r.project, permissions: robotPermissions(r.permissions) };
}

function robotPermissions(p: Record<string, string[]>): Record<string, RepositoryAction[]> {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.filter(isRepositoryAction)]));
}
