/**
 * Turns a request's credentials into a Principal: Basic (user password, personal access
 * token, or robot secret), Bearer (registry JWT or personal access token), or the UI session
 * cookie. Passwords go through argon2 once and are then remembered briefly in the credential
 * cache; registry tokens are verified from the in-memory keys (no database round trip).
 * Failed logins are counted by the limiter and written to the audit log.
 */
import { ANONYMOUS, type Principal } from '../policy/principal.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuthStore, UserRecord } from '../metadata/auth-store.js';
import { isRepositoryAction, type RepositoryAction } from '../policy/roles.js';
import type { CredentialCache } from './credential-cache.js';
import type { LoginLimiter } from './login-limiter.js';
import { burnPasswordCheck, parseAccessToken, sameHash, sha256Hex, verifyPassword } from './secrets.js';
import { TokenError, type TokenIssuer } from './token-issuer.js';

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
  ) {
    super(message);
  }
}

export interface RequestInfo {
  headers: Record<string, string | string[] | undefined>;
  ip: string;
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

/**
 * How long this process trusts that a registry token's subject (user or robot) still exists.
 * Deleting or disabling an account on this process takes effect at once (`accountsChanged`);
 * on the other processes (`--workers`) and nodes within this time, as with the policy's facts.
 */
const SUBJECT_RECHECK_MS = 2000;

export class Authenticator {
  constructor(
    private readonly store: AuthStore,
    private readonly tokens: TokenIssuer,
    private readonly cache: CredentialCache<Verified>,
    private readonly limiter: LoginLimiter,
    private readonly audit: AuditLog,
    private readonly now: () => number = Date.now,
  ) {}

  /** Registry token subjects recently found alive: their creation time, until when to trust it. */
  private subjects = new Map<string, { createdAt: number; until: number }>();

  /**
   * The principal of a request. `registryTokens`: a Bearer JWT is taken as its grants (/v2);
   * elsewhere it stands for its subject (the management API accepts the same credentials).
   */
  async resolve(req: RequestInfo, registryTokens: boolean): Promise<Principal & { csrfToken?: string }> {
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
        let claims;
        try {
          claims = await this.tokens.verifyAccess(c.token);
        } catch (e) {
          if (e instanceof TokenError) throw new AuthFailure(e.message);
          throw e;
        }
        if (registryTokens) {
          if (!(await this.liveSubject(claims.subject, claims.issuedAt))) throw new AuthFailure('invalid token: its subject no longer exists');
          return { kind: 'token', subject: claims.subject, grants: claims.grants };
        }
        const p = await this.subject(claims.subject);
        if (!p) throw new AuthFailure('invalid token: its subject no longer exists');
        return p;
      }
    }
  }

  /**
   * Checks a user name and secret (password, personal access token, or robot secret) as a
   * login: rate-limited, audited when actually verified. Throws AuthFailure.
   */
  async login(user: string, secret: string, address: string, via: string): Promise<Verified> {
    const key = this.cache.keyOf(user, secret);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const wait = this.limiter.retryAfter(user, address);
    if (wait > 0) {
      this.audit.record({ actor: user, action: 'login', resource: `user:${user}`, result: 'failure', sourceAddress: address, detail: { via, reason: 'rate limited' } });
      throw new AuthFailure(`too many failed logins; retry in ${wait} seconds`, wait);
    }
    let p: Verified | undefined;
    let reason = 'invalid user name or password';
    try {
      if (user.startsWith('robot$')) p = await this.robot(user, secret);
      else if (parseAccessToken(secret)) p = await this.accessToken(user, secret, address);
      else p = await this.password(user, secret);
    } catch (e) {
      if (!(e instanceof AuthFailure)) throw e;
      reason = e.message;
    }
    if (!p) {
      this.limiter.fail(user, address);
      this.audit.record({ actor: user, action: 'login', resource: `user:${user}`, result: 'failure', sourceAddress: address, detail: { via, reason } });
      throw new AuthFailure(reason);
    }
    this.limiter.succeed(user);
    this.cache.set(key, p);
    this.audit.record({ actor: user, action: 'login', resource: `user:${user}`, result: 'success', sourceAddress: address, detail: { via } });
    return p;
  }

  private async password(name: string, password: string): Promise<Verified | undefined> {
    const u = await this.store.users.byName(name);
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
    return { kind: 'robot', name: r.name, project: r.project, permissions: robotPermissions(r.permissions) };
  }

  private async accessToken(user: string | undefined, token: string, _address: string): Promise<Verified> {
    const parsed = parseAccessToken(token)!;
    const cacheKey = this.cache.keyOf('\0pat', token);
    const cached = this.cache.get(cacheKey);
    if (cached && (user === undefined || (cached.kind === 'user' && cached.name === user))) return cached;
    const t = await this.store.tokens.get(parsed.id);
    if (!t || !sameHash(t.secretHash, sha256Hex(parsed.secret))) throw new AuthFailure('invalid personal access token');
    if (t.expiresAt !== null && t.expiresAt <= this.now()) throw new AuthFailure(`personal access token ${t.name} expired`);
    const u = await this.store.users.byId(t.userId);
    if (!u || (user !== undefined && u.name !== user)) throw new AuthFailure('invalid personal access token');
    if (u.disabled) throw new AuthFailure(`user ${u.name} is disabled`);
    if (t.lastUsedAt === null || this.now() - t.lastUsedAt > 60_000) void this.store.tokens.touch(t.id, this.now()).catch(() => {});
    const p = userPrincipal(u, 'pat', t.scopes.length > 0 ? new Set(t.scopes) : undefined);
    this.cache.set(cacheKey, p);
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
      return { kind: 'robot', name: r.name, project: r.project, permissions: robotPermissions(r.permissions) };
    }
    const u = await this.store.users.byName(subject);
    return u && !u.disabled ? userPrincipal(u, 'token') : undefined;
  }

  /**
   * Whether a registry token's subject still exists, enabled, as the account the token was
   * issued to (not a later one of the same name). Looked up at most every SUBJECT_RECHECK_MS,
   * so the /v2 hot path costs a map lookup. Anonymous tokens (subject '') have no account.
   */
  private async liveSubject(subject: string, issuedAt: number): Promise<boolean> {
    if (subject === '') return true;
    let hit = this.subjects.get(subject);
    if (!hit || hit.until <= this.now()) {
      const createdAt = await this.subjectCreatedAt(subject);
      if (createdAt === undefined) {
        this.subjects.delete(subject);
        return false;
      }
      if (this.subjects.size >= 10_000) this.subjects = new Map();
      hit = { createdAt, until: this.now() + SUBJECT_RECHECK_MS };
      this.subjects.set(subject, hit);
    }
    // iat is in whole seconds: only a token whose second ended before the account existed is older.
    return (issuedAt + 1) * 1000 > hit.createdAt;
  }

  private async subjectCreatedAt(subject: string): Promise<number | undefined> {
    if (subject.startsWith('robot$')) {
      const r = await this.store.robots.byName(subject);
      return r && (r.expiresAt === null || r.expiresAt > this.now()) ? r.createdAt : undefined;
    }
    const u = await this.store.users.byName(subject);
    return u && !u.disabled ? u.createdAt : undefined;
  }

  /** Call after any change to accounts, robots or tokens: cached verifications are forgotten. */
  accountsChanged(revokedSubject?: string): void {
    this.cache.clear();
    this.subjects = new Map();
    if (revokedSubject !== undefined) this.tokens.revokeSubject(revokedSubject);
  }
}

export function userPrincipal(u: UserRecord, via: 'password' | 'session' | 'pat' | 'token', scopes?: ReadonlySet<string>): Verified {
  return { kind: 'user', id: u.id, name: u.name, admin: u.admin, via, ...(scopes ? { scopes } : {}) };
}

function robotPermissions(p: Record<string, string[]>): Record<string, RepositoryAction[]> {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.filter(isRepositoryAction)]));
}
