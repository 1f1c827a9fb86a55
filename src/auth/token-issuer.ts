/**
 * Registry tokens: short-lived ES256 JWTs (jose) carrying the Docker token spec's `access`
 * claim, and long-lived refresh tokens for the OAuth2 `refresh_token` grant. Signing keys
 * live in the metadata store (so every node of a cluster shares them), are generated on first
 * start, and are rotatable: a rotation signs with a new key and keeps the old one for
 * verification until every token it signed has expired. Verification needs no database
 * round trip; an unknown `kid` reloads the keys at most every few seconds (rotation elsewhere).
 * Revoking a user or robot records the time in memory: tokens of that subject issued before
 * it are refused (tokens are short-lived, so this list stays small).
 */
import { hash, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { AuthStore } from '../metadata/auth-store.js';
import type { Grant } from '../policy/principal.js';

const ALG = 'ES256';

export interface TokenOptions {
  issuer: string;
  service: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

export interface AccessClaims {
  subject: string;
  grants: Grant[];
  issuedAt: number;
  expiresAt: number;
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
  private readonly revoked = new Map<string, number>();
  /** Verified access tokens by SHA-256 of the token (never the token), until they expire. */
  private verified = new Map<string, { claims: AccessClaims; exp: number }>();

  constructor(
    private readonly store: AuthStore,
    readonly options: TokenOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Loads the keys, creating the first one when there is none. */
  async init(): Promise<void> {
    await this.reload();
    if (!this.active) await this.rotate();
  }

  /** Signs with a fresh key from now on; the previous key stays valid for verification. */
  async rotate(): Promise<string> {
    const { privateKey } = await generateKeyPair(ALG, { extractable: true });
    const jwk = await exportJWK(privateKey);
    const kid = randomUUID();
    const t = this.now();
    await this.store.transaction(async (tx) => {
      for (const k of await tx.keys.list()) if (k.retiredAt === null) await tx.keys.retire(k.kid, t);
      await tx.keys.insert({ kid, privateJwk: JSON.stringify(jwk), createdAt: t });
      // Keys retired longer ago than any token lives can go.
      await tx.keys.deleteRetiredBefore(t - 1000 * (this.options.refreshTtlSeconds + this.options.accessTtlSeconds));
    });
    await this.reload();
    return kid;
  }

  private async reload(): Promise<void> {
    this.lastReload = this.now();
    const keys = new Map<string, Key>();
    let active: Key | undefined;
    for (const k of await this.store.keys.list()) {
      const jwk = JSON.parse(k.privateJwk) as JWK;
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

  async issueAccess(subject: string, grants: Grant[]): Promise<{ token: string; expiresIn: number; issuedAt: string }> {
    const t = Math.floor(this.now() / 1000);
    const token = await this.sign({ access: grants, use: 'access' }, subject, t, this.options.accessTtlSeconds);
    return { token, expiresIn: this.options.accessTtlSeconds, issuedAt: new Date(t * 1000).toISOString() };
  }

  async issueRefresh(subject: string): Promise<string> {
    return this.sign({ use: 'refresh' }, subject, Math.floor(this.now() / 1000), this.options.refreshTtlSeconds);
  }

  private async sign(claims: JWTPayload, subject: string, iat: number, ttl: number): Promise<string> {
    const key = this.active;
    if (!key) throw new Error('token issuer not initialised');
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

  /** Verifies a registry access token; throws TokenError with a reason. */
  async verifyAccess(token: string): Promise<AccessClaims> {
    // A client sends the same token on every request of a pull: verify its signature once.
    // The one-shot hash costs about half of a createHash object per request on this hot path.
    const key = hash('sha256', token, 'base64');
    const hit = this.verified.get(key);
    const nowS = this.now() / 1000;
    if (hit && hit.exp > nowS) {
      const revokedAt = this.revoked.get(hit.claims.subject);
      if (revokedAt !== undefined && hit.claims.issuedAt <= revokedAt) throw new TokenError('invalid token: its subject was revoked');
      return hit.claims;
    }
    const claims = await this.verifyAccessUncached(token);
    if (this.verified.size >= 10_000) this.verified = new Map();
    this.verified.set(key, { claims, exp: claims.expiresAt });
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
    return { subject: payload.sub!, grants, issuedAt: payload.iat!, expiresAt: payload.exp! };
  }

  /** Verifies a refresh token; returns its subject. */
  async verifyRefresh(token: string): Promise<string> {
    return (await this.verify(token, 'refresh')).sub!;
  }

  /** Refuses tokens of `subject` issued up to now (user deleted, disabled, password changed; robot deleted). */
  revokeSubject(subject: string): void {
    this.revoked.set(subject, Math.floor(this.now() / 1000));
    const horizon = Math.floor(this.now() / 1000) - this.options.refreshTtlSeconds;
    for (const [s, at] of this.revoked) if (at < horizon) this.revoked.delete(s);
  }

  private async verify(token: string, use: 'access' | 'refresh'): Promise<JWTPayload> {
    let payload: JWTPayload;
    try {
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
    const revokedAt = this.revoked.get(payload.sub!);
    if (revokedAt !== undefined && payload.iat! <= revokedAt) throw new TokenError('invalid token: its subject was revoked');
    return payload;
  }

  private async publicKey(kid: string | undefined): Promise<CryptoKey> {
    if (kid === undefined) throw new TokenError('token has no kid');
    let key = this.keys.get(kid);
    if (!key && this.now() - this.lastReload > 5000) {
      await this.reload();
      key = this.keys.get(kid);
    }
    if (!key) throw new TokenError('token signed by an unknown key');
    return key.publicKey;
  }
}
