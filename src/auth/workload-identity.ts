/**
 * Keyless CI login: a CI job signs in with user name `oidc` and its OIDC ID token (GitLab's
 * `CI_JOB_JWT_V2` / `id_tokens`, GitHub Actions' `ACTIONS_ID_TOKEN_REQUEST_URL` token, a
 * Jenkins or CircleCI OIDC token) as the password. A project trusts an issuer through trust
 * policies (issuer, audience, required claims, permissions); the token is accepted when
 *
 *  - its signature verifies against the issuer's JWKS (found through the issuer's discovery
 *    document, cached, fetched again when a token names an unknown key id, at most once per
 *    cooldown), with an asymmetric algorithm only (`none` and every HS* are refused: an HMAC
 *    "signed" with the issuer's public key must never verify);
 *  - `iss` is a trusted issuer, `exp` is in the future (and `nbf`/`iat` not ahead of us);
 *  - for at least one policy of that issuer: `aud` contains the policy's audience and every
 *    claim the policy names matches (exact, or a glob where `*` matches any run of characters).
 *
 * The principal then holds exactly the union of the matching policies' permissions on their
 * projects, until the ID token expires (registry tokens issued to it never outlive it). A
 * policy deleted stops new logins at once on this node (and within POLICY_CACHE_MS on
 * others); registry tokens already issued live out their few minutes.
 */
import { hash } from 'node:crypto';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import type { AuthStore, TrustPolicyRecord } from '../metadata/auth-store.js';
import type { Principal } from '../policy/principal.js';
import { isRepositoryAction, type RepositoryAction } from '../policy/roles.js';

let josePromise: Promise<typeof import('jose')> | undefined;
const jose = () => (josePromise ??= import('jose'));

/** The user name a CI job logs in with. */
export const WORKLOAD_USER = 'oidc';

/** Asymmetric algorithms only: `none` and HS* are never accepted. */
export const WORKLOAD_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

const POLICY_CACHE_MS = 2000;

export type WorkloadPrincipal = Extract<Principal, { kind: 'workload' }>;

export interface WorkloadIdentityOptions {
  /** Accept `http://` issuers (loopback test providers); production issuers are https. */
  allowHttpIssuers: boolean;
  /** Least time between two JWKS fetches of one issuer (a token with an unknown kid asks for one). */
  jwksCooldownMs: number;
  /** How long a fetched JWKS is used before it is fetched again. */
  jwksMaxAgeMs: number;
  /** Timeout of a discovery or JWKS request. */
  fetchTimeoutMs: number;
  /** Leeway for `exp`, `nbf` and `iat` in seconds. */
  clockToleranceSeconds: number;
}

/** A refusal with the reason the client sees. */
export class WorkloadIdentityError extends Error {
  override readonly name = 'WorkloadIdentityError';
}

/** `*` matches any run of characters (slashes too); everything else literally; the whole value must match. */
export function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
  return re.test(value);
}

function claimText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** Why `policy` does not accept `payload`, or undefined when it does. */
export function policyMismatch(policy: TrustPolicyRecord, payload: JWTPayload): string | undefined {
  const aud = payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!aud.includes(policy.audience)) return `audience ${JSON.stringify(policy.audience)} is not in the token's aud`;
  for (const [name, want] of Object.entries(policy.claims)) {
    const got = claimText(payload[name]);
    if (got === undefined) return `claim ${name} is missing`;
    if (!globMatch(want, got)) return `claim ${name} does not match`;
  }
  return undefined;
}

export class WorkloadIdentity {
  private jwks = new Map<string, Promise<JWTVerifyGetKey>>();
  private policies = new Map<string, { value: TrustPolicyRecord[]; until: number }>();
  /** Tokens verified in the last POLICY_CACHE_MS (a client sends the same one on every request). */
  private verified = new Map<string, { principal: WorkloadPrincipal; until: number }>();

  constructor(
    private readonly store: Pick<AuthStore, 'trustPolicies'>,
    private readonly options: WorkloadIdentityOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** The `sub` a token claims, unverified (for throttling only), or '' when it has none. */
  static claimedSubject(token: string): string {
    try {
      const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown };
      return typeof payload.sub === 'string' ? payload.sub.slice(0, 200) : '';
    } catch {
      return '';
    }
  }

  /** Whether a password looks like a compact JWS (three base64url parts). */
  static looksLikeJwt(secret: string): boolean {
    return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(secret);
  }

  /** The principal of a token verified moments ago (policies rechecked every POLICY_CACHE_MS), if any. */
  remembered(token: string): WorkloadPrincipal | undefined {
    const hit = this.verified.get(hash('sha256', token, 'base64'));
    return hit && hit.until > this.now() && hit.principal.expiresAt > this.now() ? hit.principal : undefined;
  }

  /** The principal of an ID token; throws WorkloadIdentityError with the reason. */
  async verify(token: string): Promise<WorkloadPrincipal> {
    const p = await this.verifyUncached(token);
    if (this.verified.size > 10_000) this.verified.clear();
    this.verified.set(hash('sha256', token, 'base64'), { principal: p, until: this.now() + POLICY_CACHE_MS });
    return p;
  }

  private async verifyUncached(token: string): Promise<WorkloadPrincipal> {
    const { decodeJwt, decodeProtectedHeader, jwtVerify } = await jose();
    if (!WorkloadIdentity.looksLikeJwt(token)) throw new WorkloadIdentityError('the password of user oidc must be an OIDC ID token (a JWT)');
    let alg: unknown;
    let unverified: JWTPayload;
    try {
      alg = decodeProtectedHeader(token).alg;
      unverified = decodeJwt(token);
    } catch {
      throw new WorkloadIdentityError('the ID token is not a readable JWT');
    }
    if (typeof alg !== 'string' || !WORKLOAD_ALGORITHMS.includes(alg)) throw new WorkloadIdentityError(`ID token algorithm ${JSON.stringify(String(alg).slice(0, 20))} is not accepted (asymmetric signatures only)`);
    const issuer = unverified.iss;
    if (typeof issuer !== 'string' || issuer === '') throw new WorkloadIdentityError('the ID token names no issuer');
    const policies = await this.policiesOf(issuer);
    if (policies.length === 0) throw new WorkloadIdentityError(`no project trusts issuer ${issuer.slice(0, 200)}`);
    let payload: JWTPayload;
    try {
      const r = await jwtVerify(token, await this.keysOf(issuer), {
        issuer,
        algorithms: WORKLOAD_ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: this.options.clockToleranceSeconds,
        currentDate: new Date(this.now()),
      });
      payload = r.payload;
    } catch (e) {
      if (e instanceof WorkloadIdentityError) throw e;
      throw new WorkloadIdentityError(`ID token refused: ${(e as Error).message}`);
    }
    const permissions: Record<string, RepositoryAction[]> = {};
    let why = '';
    for (const p of policies) {
      const mismatch = policyMismatch(p, payload);
      if (mismatch) {
        why ||= mismatch;
        continue;
      }
      const have = new Set(permissions[p.project] ?? []);
      for (const a of p.permissions) if (isRepositoryAction(a)) have.add(a);
      permissions[p.project] = [...have];
    }
    if (Object.keys(permissions).length === 0) throw new WorkloadIdentityError(`no trust policy of issuer ${issuer.slice(0, 200)} accepts this token: ${why}`);
    const subject = String(payload.sub);
    return { kind: 'workload', name: `oidc:${subject.slice(0, 200)}`, issuer, subject, permissions, expiresAt: payload.exp! * 1000 };
  }

  /** Forget cached policies (after a change on this node). */
  policiesChanged(): void {
    this.policies.clear();
    this.verified.clear();
  }

  private async policiesOf(issuer: string): Promise<TrustPolicyRecord[]> {
    const hit = this.policies.get(issuer);
    if (hit && hit.until > this.now()) return hit.value;
    const value = await this.store.trustPolicies.byIssuer(issuer);
    if (this.policies.size > 1000) this.policies.clear();
    this.policies.set(issuer, { value, until: this.now() + POLICY_CACHE_MS });
    return value;
  }

  /** The issuer's key set, found through its discovery document; a failed discovery is tried again next time. */
  private keysOf(issuer: string): Promise<JWTVerifyGetKey> {
    let p = this.jwks.get(issuer);
    if (!p) {
      p = this.discover(issuer);
      this.jwks.set(issuer, p);
      p.catch(() => this.jwks.delete(issuer));
    }
    return p;
  }

  private async discover(issuer: string): Promise<JWTVerifyGetKey> {
    const url = new URL(issuer);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.options.allowHttpIssuers)) throw new WorkloadIdentityError(`issuer ${issuer} must use https`);
    const where = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    let doc: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const res = await fetch(where, { signal: AbortSignal.timeout(this.options.fetchTimeoutMs), redirect: 'error' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      doc = (await res.json()) as typeof doc;
    } catch (e) {
      throw new WorkloadIdentityError(`cannot read the discovery document of issuer ${issuer}: ${(e as Error).message}`);
    }
    if (doc.issuer !== issuer) throw new WorkloadIdentityError(`the discovery document of ${issuer} names another issuer`);
    if (typeof doc.jwks_uri !== 'string') throw new WorkloadIdentityError(`the discovery document of ${issuer} has no jwks_uri`);
    const jwksUrl = new URL(doc.jwks_uri);
    if (jwksUrl.protocol !== 'https:' && !(jwksUrl.protocol === 'http:' && this.options.allowHttpIssuers)) throw new WorkloadIdentityError(`the jwks_uri of ${issuer} must use https`);
    const { createRemoteJWKSet } = await jose();
    return createRemoteJWKSet(jwksUrl, { timeoutDuration: this.options.fetchTimeoutMs, cooldownDuration: this.options.jwksCooldownMs, cacheMaxAge: this.options.jwksMaxAgeMs });
  }
}
