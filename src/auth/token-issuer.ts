/**
 * Registry tokens: short-lived ES256 JWTs (jose) carrying the Docker token spec's `access`
 * claim, and long-lived refresh tokens for the OAuth2 `refresh_token` grant. Signing keys
 * live in the metadata store (so every node of a cluster shares them), are generated on first
 * start, and are rotatable: a rotation signs with a new key and keeps the old one for
 * verification until every token it signed has expired. Verification needs no database
 * round trip; an unknown `kid` reloads the keys at most every few seconds (rotation elsewhere).
 * Private keys are sealed at rest (key-sealing.ts).
 *
 * Every token names its origin (`TokenOrigin`): the account's id (so a re-created account of
 * the same name is another account), how the holder signed in (password, personal access
 * token with its id, robot secret) and the issue time in milliseconds. Nothing about
 * revocation is kept here: the authenticator compares the origin with the account as the
 * shared database has it now, so every process and node agrees, across restarts.
 */
import { hash, randomUUID } from 'node:crypto';
import type { CryptoKey, JWK, JWTPayload } from 'jose';

// jose loads with the first token issued or checked (or the first start's key), not with the
// server: every process pays its memory only once tokens are in use.
let josePromise: Promise<typeof import('jose')> | undefined;
const jose = () => (josePromise ??= import('jose'));
import type { AuthStore } from '../metadata/auth-store.js';
import type { Grant } from '../policy/principal.js';
import type { AccessChanges } from '../policy/access-changes.js';
import { KeySealer } from './key-sealing.js';

const ALG = 'ES256';

export interface TokenOptions {
  issuer: string;
  service: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

/** Who a token was issued to and how they had signed in; absent for anonymous tokens. */
export interface TokenOrigin {
  /** The user's or robot's id (a later account of the same name has another). */
  account: number;
  /**
   * How the holder proved who they are: a user's password or UI session, a personal access
   * token, a robot secret, or a CI job's OIDC ID token (`workload`, account 0: no account; the
   * access token never outlives the ID token and no refresh token is issued).
   */
  via: 'password' | 'pat' | 'robot' | 'workload';
  /** The personal access token's id when `via` is `pat`. */
  pat?: string;
  /** Issue time in milliseconds (`iat` has whole seconds only). */
  at: number;
}

export interface AccessClaims {
  subject: string;
  grants: Grant[];
  origin: TokenOrigin | undefined;
  issuedAt: number;
  expiresAt: number;
}

export interface RefreshClaims {
  subject: string;
  origin: TokenOrigin;
}

interface Key {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  retired: boolean;
}

export class TokenError extends Error {
  override readonly name = 'TokenError';
}

export class TokenIssuer {
  private keys = new Map<string, Key>();
  private active: Key | undefined;
  private lastReload = 0;
  /** The keys, read from the store on first use. */
  private loading: Promise<void> | undefined;
  /** Verified access tokens by SHA-256 of the token (never the token), until they expire. */
  private verified = new Map<string, { claims: AccessClaims; exp: number }>();
  /** The token each open connection sent last, with its claims (the connection holds its own credential while it is open). */
  private readonly connectionTokens = new WeakMap<object, { token: string; claims: AccessClaims }>();

  constructor(
    private readonly store: AuthStore,
    readonly options: TokenOptions,
    private readonly sealer: KeySealer,
    private readonly now: () => number = Date.now,
    /** Announces a rotation to every process (and hears theirs), so a new key verifies everywhere at once. */
    private readonly changes?: AccessChanges,
  ) {
    changes?.onChange('keys', () => {
      this.loading = undefined;
    });
  }

  /** Loads the keys, creating the first one when there is none. */
  async init(): Promise<void> {
    // Keys written before sealing existed are sealed now (one rewrite, then never plain again).
    for (const k of await this.store.keys.list()) {
      if (!KeySealer.isSealed(k.privateJwk)) await this.store.keys.replace(k.kid, this.sealer.seal(k.privateJwk));
      // Opened now (not when first used), so a node given another key-encryption key refuses to start.
      else this.sealer.open(k.privateJwk);
    }
    if (!(await this.store.keys.list()).some((k) => k.retiredAt === null)) await this.rotate();
  }

  private ensureKeys(): Promise<void> {
    this.loading ??= this.reload().catch((e: unknown) => {
      this.loading = undefined;
      throw e;
    });
    return this.loading;
  }

  /** Signs with a fresh key from now on; the previous key stays valid for verification. */
  async rotate(): Promise<string> {
    const { generateKeyPair, exportJWK } = await jose();
    const { privateKey } = await generateKeyPair(ALG, { extractable: true });
    const jwk = await exportJWK(privateKey);
    const kid = randomUUID();
    const t = this.now();
    await this.store.transaction(async (tx) => {
      for (const k of await tx.keys.list()) if (k.retiredAt === null) await tx.keys.retire(k.kid, t);
      await tx.keys.insert({ kid, privateJwk: this.sealer.seal(JSON.stringify(jwk)), createdAt: t });
      // Keys retired longer ago than any token lives can go.
      await tx.keys.deleteRetiredBefore(t - 1000 * (this.options.refreshTtlSeconds + this.options.accessTtlSeconds));
    });
    this.loading = this.reload();
    await this.loading;
    await this.changes?.changed('keys');
    return kid;
  }

  private async reload(): Promise<void> {
    const { importJWK } = await jose();
    this.lastReload = this.now();
    const keys = new Map<string, Key>();
    let active: Key | undefined;
    for (const k of await this.store.keys.list()) {
      const jwk = JSON.parse(this.sealer.open(k.privateJwk)) as JWK;
      const { d: _d, ...pub } = jwk;
      const key: Key = {
        kid: k.kid,
        privateKey: (await importJWK(jwk, ALG)) as CryptoKey,
        publicKey: (await importJWK(pub, ALG)) as CryptoKey,
        retired: k.retiredAt !== null,
      };
      keys.set(k.kid, key);
      if (!key.retired) active = key;
    }
    this.keys = keys;
    this.active = active;
  }

  /** The origin of a token issued now to `account` (the caller fills in who and how). */
  originNow(o: Omit<TokenOrigin, 'at'>): TokenOrigin {
    return { ...o, at: this.now() };
  }

  /** `notAfter` (milliseconds) caps the lifetime: a token never outlives the credential it was issued for. */
  async issueAccess(subject: string, grants: Grant[], origin: TokenOrigin | undefined, notAfter?: number): Promise<{ token: string; expiresIn: number; issuedAt: string }> {
    const t = Math.floor(this.now() / 1000);
    const ttl = notAfter === undefined ? this.options.accessTtlSeconds : Math.max(1, Math.min(this.options.accessTtlSeconds, Math.floor(notAfter / 1000) - t));
    const token = await this.sign({ access: grants, use: 'access', ...(origin ? { origin } : {}) }, subject, t, ttl);
    return { token, expiresIn: ttl, issuedAt: new Date(t * 1000).toISOString() };
  }

  async issueRefresh(subject: string, origin: TokenOrigin): Promise<string> {
    return this.sign({ use: 'refresh', origin }, subject, Math.floor(this.now() / 1000), this.options.refreshTtlSeconds);
  }

  private async sign(claims: JWTPayload, subject: string, iat: number, ttl: number): Promise<string> {
    await this.ensureKeys();
    const key = this.active;
    if (!key) throw new Error('token issuer not initialised');
    const { SignJWT } = await jose();
    return new SignJWT(claims)
      .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'JWT' })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.service)
      .setSubject(subject)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + ttl)
      .setJti(randomUUID())
      .sign(key.privateKey);
  }

  /**
   * Verifies a registry access token; throws TokenError with a reason. A client sends the same
   * token on every request of a pull, so its signature is verified once: across connections
   * the claims are found by the token's SHA-256 (the one-shot hash costs about half of a
   * createHash object), and on a keep-alive `connection` the last token it sent is compared as
   * a string, which skips even the hash (about 4 µs of a manifest GET). Only the signature and
   * expiry are cached; the caller checks the account's state on every request.
   */
  async verifyAccess(token: string, connection?: object): Promise<AccessClaims> {
    const now = this.now() / 1000;
    const last = connection && this.connectionTokens.get(connection);
    if (last && last.token === token && last.claims.expiresAt > now) return last.claims;
    const key = hash('sha256', token, 'base64');
    const hit = this.verified.get(key);
    let claims: AccessClaims;
    if (hit && hit.exp > now) claims = hit.claims;
    else {
      claims = await this.verifyAccessUncached(token);
      if (this.verified.size >= 10_000) this.verified = new Map();
      this.verified.set(key, { claims, exp: claims.expiresAt });
    }
    if (connection) this.connectionTokens.set(connection, { token, claims });
    return claims;
  }

  private async verifyAccessUncached(token: string): Promise<AccessClaims> {
    const payload = await this.verify(token, 'access');
    const access = Array.isArray(payload.access) ? (payload.access as unknown[]) : [];
    const grants: Grant[] = [];
    for (const g of access) {
      const e = g as Partial<Grant>;
      if ((e.type === 'repository' || e.type === 'registry') && typeof e.name === 'string' && Array.isArray(e.actions)) {
        grants.push({ type: e.type, name: e.name, actions: e.actions.filter((a): a is string => typeof a === 'string') });
      }
    }
    const origin = parseOrigin(payload.origin);
    // A token for an account always names its origin; one without is anonymous only.
    if (payload.sub !== '' && !origin) throw new TokenError('invalid token: it names no origin');
    return { subject: payload.sub!, grants, origin, issuedAt: payload.iat!, expiresAt: payload.exp! };
  }

  /** Verifies a refresh token; returns its subject and origin. */
  async verifyRefresh(token: string): Promise<RefreshClaims> {
    const payload = await this.verify(token, 'refresh');
    const origin = parseOrigin(payload.origin);
    if (!origin || !payload.sub) throw new TokenError('invalid token: it names no origin');
    return { subject: payload.sub, origin };
  }

  private async verify(token: string, use: 'access' | 'refresh'): Promise<JWTPayload> {
    let payload: JWTPayload;
    try {
      const { jwtVerify } = await jose();
      const r = await jwtVerify(token, async (header) => this.publicKey(header.kid), {
        algorithms: [ALG],
        issuer: this.options.issuer,
        audience: this.options.service,
        clockTolerance: 5,
        requiredClaims: ['sub', 'exp', 'iat'],
        currentDate: new Date(this.now()),
      });
      payload = r.payload;
    } catch (e) {
      throw new TokenError(`invalid token: ${(e as Error).message}`);
    }
    if (payload.use !== use) throw new TokenError(`invalid token: not ${use === 'access' ? 'an access' : 'a refresh'} token`);
    return payload;
  }

  private async publicKey(kid: string | undefined): Promise<CryptoKey> {
    if (kid === undefined) throw new TokenError('token has no kid');
    await this.ensureKeys();
    let key = this.keys.get(kid);
    // A key another process just made: its announcement, once the barrier delivered it, reloads the keys.
    if (!key && this.changes && (await this.changes.fresh())) {
      await this.ensureKeys();
      key = this.keys.get(kid);
    }
    if (!key && this.now() - this.lastReload > 5000) {
      await this.reload();
      key = this.keys.get(kid);
    }
    if (!key) throw new TokenError('token signed by an unknown key');
    return key.publicKey;
  }
}

function parseOrigin(v: unknown): TokenOrigin | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (!Number.isSafeInteger(o.account) || !Number.isSafeInteger(o.at)) return undefined;
  if (o.via !== 'password' && o.via !== 'pat' && o.via !== 'robot' && o.via !== 'workload') return undefined;
  if (o.via === 'pat' && typeof o.pat !== 'string') return undefined;
  return { account: o.account as number, via: o.via, ...(o.via === 'pat' ? { pat: o.pat as string } : {}), at: o.at as number };
}
