/**
 * OIDC sign-in for the web UI (openid-client): the authorization code flow with PKCE (S256),
 * `state` and `nonce`. `begin` makes the provider's authorization URL and the values the
 * callback must see again; they travel in a short-lived HttpOnly cookie (SameSite=Lax, so the
 * provider's redirect back carries it), which keeps any node able to finish any sign-in.
 * `complete` exchanges the code: openid-client checks the state, the PKCE verifier, the ID
 * token's signature against the issuer's JWKS (fetched again on an unknown key id), `iss`,
 * `aud`, expiry and the nonce. The user name and groups come from the ID token, or from the
 * userinfo endpoint when the ID token leaves them out. Group roles are applied by GroupSync.
 */
import type { Configuration } from 'openid-client';

let clientPromise: Promise<typeof import('openid-client')> | undefined;
const oidc = () => (clientPromise ??= import('openid-client'));

export interface OidcOptions {
  issuer: string;
  clientId: string;
  /** Absent: a public client (PKCE only). */
  clientSecret?: string | undefined;
  scopes: string[];
  usernameClaim: string;
  groupsClaim: string;
  /** Accept an http:// issuer (loopback test providers only). */
  allowHttp: boolean;
  timeoutMs: number;
}

/** What the callback must see again; kept in the flow cookie. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  /** Where the UI goes after signing in (a path of this site). */
  next: string;
}

export interface OidcIdentity {
  subject: string;
  name: string;
  groups: string[];
}

/** A device sign-in started for the CLI: what the user needs, and what finishing it needs. */
export interface DeviceStart {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string | null;
  interval: number;
  expiresIn: number;
}

/** The provider refused, or what came back does not check out. */
export class OidcSignInError extends Error {
  override readonly name = 'OidcSignInError';
}

const USER_NAME = /^[a-z0-9]+(?:[._@-][a-z0-9]+)*$/;

/** A Berth user name from a claim value: lower case, characters outside [a-z0-9._@-] become `-`. */
export function userNameOf(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9._@-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .slice(0, 64);
}

export class OidcSignIn {
  private config: Promise<Configuration> | undefined;

  constructor(private readonly options: OidcOptions) {}

  private async configuration(): Promise<Configuration> {
    if (!this.config) {
      const o = this.options;
      const c = await oidc();
      this.config = c
        .discovery(new URL(o.issuer), o.clientId, o.clientSecret ? { client_secret: o.clientSecret } : undefined, o.clientSecret ? c.ClientSecretBasic(o.clientSecret) : c.None(), {
          ...(o.allowHttp ? { execute: [c.allowInsecureRequests] } : {}),
          timeout: Math.ceil(o.timeoutMs / 1000),
        })
        .catch((e: unknown) => {
          this.config = undefined; // try the discovery again next time
          throw new OidcSignInError(`the identity provider ${o.issuer} cannot be reached: ${(e as Error).message}`);
        });
    }
    return this.config;
  }

  /** The provider's authorization URL and what the callback must see again. */
  async begin(redirectUri: string, next: string): Promise<{ url: string; pending: PendingSignIn }> {
    const c = await oidc();
    const config = await this.configuration();
    const verifier = c.randomPKCECodeVerifier();
    const pending: PendingSignIn = { state: c.randomState(), nonce: c.randomNonce(), verifier, next };
    const url = c.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: this.options.scopes.join(' '),
      code_challenge: await c.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url: url.href, pending };
  }

  /** Finishes the flow at `callbackUrl` (the full URL the provider redirected to). Throws OidcSignInError. */
  async complete(callbackUrl: URL, pending: PendingSignIn): Promise<OidcIdentity> {
    const c = await oidc();
    const config = await this.configuration();
    let claims: Record<string, unknown>;
    let accessToken: string;
    try {
      const tokens = await c.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true });
      claims = (tokens.claims() ?? {}) as Record<string, unknown>;
      accessToken = tokens.access_token;
    } catch (e) {
      // openid-client's cause says what did not check out (the state, the nonce, iss, aud, ...).
      const cause = (e as { cause?: unknown }).cause;
      const what = cause instanceof Error && cause.message !== (e as Error).message ? `: ${cause.message}` : '';
      throw new OidcSignInError(`sign-in refused: ${(e as Error).message}${what}`);
    }
    return this.identity(claims, accessToken);
  }

  /**
   * Starts the device authorization flow (RFC 8628) for the CLI, where the provider offers it:
   * the user opens `verificationUri` in any browser and enters `userCode`. Throws OidcSignInError.
   */
  async startDevice(): Promise<DeviceStart> {
    const c = await oidc();
    const config = await this.configuration();
    if (!config.serverMetadata().device_authorization_endpoint) throw new OidcSignInError('the identity provider offers no device flow: sign in to the web UI, create a personal access token there, and run `berth login SERVER -u NAME --password-stdin` with it');
    try {
      const r = await c.initiateDeviceAuthorization(config, { scope: this.options.scopes.join(' ') });
      return { deviceCode: r.device_code, userCode: r.user_code, verificationUri: r.verification_uri, verificationUriComplete: r.verification_uri_complete ?? null, interval: r.interval ?? 5, expiresIn: r.expires_in };
    } catch (e) {
      throw new OidcSignInError(`the identity provider refused to start a device sign-in: ${(e as Error).message}`);
    }
  }

  /**
   * Waits (polling at the provider's interval, at most `waitMs`) until the user approved
   * `start`; the identity then, or undefined when the user has not decided yet (ask again).
   * Throws OidcSignInError when the provider refused (denied, expired, bad code).
   */
  async finishDevice(start: Pick<DeviceStart, 'deviceCode' | 'userCode' | 'verificationUri' | 'interval' | 'expiresIn'>, waitMs: number): Promise<OidcIdentity | undefined> {
    const signal = AbortSignal.timeout(waitMs);
    const c = await oidc();
    const config = await this.configuration();
    let claims: Record<string, unknown>;
    let accessToken: string;
    try {
      const tokens = await c.pollDeviceAuthorizationGrant(
        config,
        { device_code: start.deviceCode, user_code: start.userCode, verification_uri: start.verificationUri, interval: start.interval, expires_in: start.expiresIn },
        undefined,
        { signal },
      );
      claims = (tokens.claims() ?? {}) as Record<string, unknown>;
      if (claims.sub === undefined) throw new Error('the provider returned no ID token');
      accessToken = tokens.access_token;
    } catch (e) {
      if (signal.aborted) return undefined;
      const cause = (e as { cause?: unknown }).cause;
      const what = cause instanceof Error && cause.message !== (e as Error).message ? `: ${cause.message}` : '';
      throw new OidcSignInError(`device sign-in did not complete: ${(e as Error).message}${what}`);
    }
    return this.identity(claims, accessToken);
  }

  /** The user name and groups from the ID token's claims, completed from userinfo when it leaves them out. */
  private async identity(claims: Record<string, unknown>, accessToken: string): Promise<OidcIdentity> {
    const c = await oidc();
    const config = await this.configuration();
    const subject = String(claims.sub);
    const o = this.options;
    if (claims[o.usernameClaim] === undefined || claims[o.groupsClaim] === undefined) {
      try {
        const info = (await c.fetchUserInfo(config, accessToken, subject)) as Record<string, unknown>;
        claims = { ...info, ...claims };
      } catch (e) {
        throw new OidcSignInError(`cannot read the user's claims from the identity provider: ${(e as Error).message}`);
      }
    }
    const raw = claims[o.usernameClaim] ?? claims.email ?? subject;
    const name = userNameOf(String(raw));
    if (!USER_NAME.test(name)) throw new OidcSignInError(`claim ${o.usernameClaim} (${JSON.stringify(String(raw).slice(0, 64))}) does not make a user name`);
    const g = claims[o.groupsClaim];
    const groups = Array.isArray(g) ? g.filter((x): x is string => typeof x === 'string') : typeof g === 'string' ? [g] : [];
    return { subject, name, groups };
  }
}
