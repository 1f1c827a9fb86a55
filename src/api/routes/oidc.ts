/**
 * `/auth/providers`, `/auth/oidc/login`, `/auth/oidc/callback`: the web UI's sign-in through
 * the identity provider (src/auth/oidc.ts holds the flow). `login` redirects to the provider
 * with a flow cookie; `callback` finishes the flow, creates or updates the user and its group
 * roles (src/auth/group-sync.ts), starts the UI session and returns to the UI. Both are GETs
 * (browser navigations); the sign-in is audited as a `login` event like any other.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SignInRefused } from '../../auth/group-sync.js';
import { OidcSignInError, type PendingSignIn } from '../../auth/oidc.js';
import { userPrincipal } from '../../auth/authenticator.js';
import { ProblemError } from '../../errors/problem.js';
import { body, query, queryOf, systemResource, type ApiRoute } from '../route.js';
import type { ApiServices } from '../services/index.js';
import { sessionCookie } from './session.js';

const FLOW_COOKIE = 'berth_oidc';
const FLOW_PATH = '/api/v1/auth/oidc';

const DeviceStarted = z.object({ deviceCode: z.string(), userCode: z.string(), verificationUri: z.string(), verificationUriComplete: z.string().nullable(), interval: z.number(), expiresIn: z.number() });
const DeviceFinish = z.strictObject({
  deviceCode: z.string().min(1).max(2000),
  userCode: z.string().min(1).max(200),
  verificationUri: z.string().min(1).max(2000),
  interval: z.number().int().min(1).max(60),
  expiresIn: z.number().int().min(1).max(86400),
  tokenName: z.string().min(1).max(100).default('berth-cli'),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});
const DeviceResult = z.object({
  pending: z.boolean().describe('true: the user has not approved yet; ask again.'),
  user: z.string().nullable(),
  token: z.string().nullable().describe('A personal access token (berth_pat_...), independent of the OIDC session.'),
  id: z.string().nullable(),
  expiresAt: z.string().nullable(),
});

/** How long one device-token request waits for the user's approval before answering `pending`. */
const DEVICE_WAIT_MS = 20_000;

const Providers = z.object({ oidc: z.object({ label: z.string(), loginUrl: z.string() }).nullable() });

function flowCookie(value: string, maxAge: number, secure: boolean): string {
  return `${FLOW_COOKIE}=${value}; Path=${FLOW_PATH}; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
}

function readFlow(request: FastifyRequest): PendingSignIn | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const [k, v] = part.trim().split('=', 2);
    if (k !== FLOW_COOKIE || !v) continue;
    try {
      const p = JSON.parse(Buffer.from(v, 'base64url').toString('utf8')) as Partial<PendingSignIn>;
      if (typeof p.state === 'string' && typeof p.nonce === 'string' && typeof p.verifier === 'string' && typeof p.next === 'string') return p as PendingSignIn;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** This server as the browser reached it (`request.protocol` believes X-Forwarded-Proto only under http.trustProxy). */
function origin(request: FastifyRequest): string {
  return `${request.protocol}://${request.headers.host ?? 'localhost'}`;
}

function redirectUri(request: FastifyRequest, s: ApiServices): string {
  return s.oidc?.redirectUrl ?? `${origin(request)}${FLOW_PATH}/callback`;
}

function enabled(s: ApiServices): NonNullable<ApiServices['oidc']> {
  if (!s.oidc) throw new ProblemError('NOT_FOUND', 'OIDC sign-in is not configured (auth.oidc)');
  return s.oidc;
}

/** A path of the UI to return to: only our own (no `//host` or scheme). */
function safeNext(next: string | undefined): string {
  return next && /^\/(?![/\\])/.test(next) ? next.slice(0, 500) : '/';
}

async function callback(request: FastifyRequest, reply: FastifyReply, s: ApiServices): Promise<FastifyReply> {
  const o = enabled(s);
  const secure = request.protocol === 'https';
  const pending = readFlow(request);
  // The flow cookie is spent whatever happens.
  reply.header('Set-Cookie', flowCookie('', 0, secure));
  const fail = (reason: string, code: 'UNAUTHORIZED' | 'FORBIDDEN' = 'UNAUTHORIZED'): never => {
    s.audit.record({ actor: 'anonymous', action: 'login', resource: 'oidc', result: 'failure', sourceAddress: request.ip, detail: { via: 'oidc', reason } });
    throw new ProblemError(code, reason);
  };
  const q = query(request);
  if (q.error) fail(`the identity provider refused the sign-in: ${q.error}${q.error_description ? ` (${q.error_description.slice(0, 200)})` : ''}`);
  if (!pending) fail('the sign-in expired or was started elsewhere (no flow cookie); start again');
  const url = new URL(redirectUri(request, s));
  url.search = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
  let identity;
  try {
    identity = await o.signIn.complete(url, pending!);
  } catch (e) {
    if (e instanceof OidcSignInError) fail(e.message);
    throw e;
  }
  let user;
  try {
    user = await o.groups.signIn('oidc', identity!.subject, identity!.name, identity!.groups, request.ip);
  } catch (e) {
    if (e instanceof SignInRefused) fail(e.message, 'FORBIDDEN');
    throw e;
  }
  const session = await s.users.startSession(userPrincipal(user!, 'session') as { id: number });
  s.audit.record({ actor: user!.name, action: 'login', resource: `user:${user!.name}`, result: 'success', sourceAddress: request.ip, detail: { via: 'oidc', subject: identity!.subject, groups: identity!.groups.slice(0, 100) } });
  reply.header('Set-Cookie', [flowCookie('', 0, secure), sessionCookie(session.id, Math.floor(s.sessionTtlMs / 1000), secure)]);
  return reply.redirect(`/ui${pending!.next}`, 303);
}

export const oidcRoutes: ApiRoute[] = [
  {
    method: 'GET',
    url: '/auth/providers',
    action: 'anyone',
    resource: systemResource,
    summary: 'The identity providers the sign-in page offers beside local accounts (the OIDC button\'s label and where it goes).',
    body: null,
    query: null,
    response: Providers,
    audit: null,
    async handle(_request, _reply, s) {
      return { oidc: s.oidc ? { label: s.oidc.label, loginUrl: `${FLOW_PATH}/login` } : null };
    },
  },
  {
    method: 'GET',
    url: '/auth/oidc/login',
    action: 'anyone',
    resource: systemResource,
    summary: 'Starts OIDC sign-in: redirects (303) to the identity provider (authorization code flow with PKCE, state and nonce); `next` is the UI path to return to.',
    body: null,
    query: queryOf({ next: true }),
    response: null,
    audit: null,
    async handle(request, reply, s) {
      const o = enabled(s);
      let begun;
      try {
        begun = await o.signIn.begin(redirectUri(request, s), safeNext(query(request).next));
      } catch (e) {
        if (e instanceof OidcSignInError) throw new ProblemError('UNAVAILABLE', e.message);
        throw e;
      }
      reply.header('Set-Cookie', flowCookie(Buffer.from(JSON.stringify(begun.pending)).toString('base64url'), 600, request.protocol === 'https'));
      return reply.redirect(begun.url, 303);
    },
  },
  {
    method: 'POST',
    url: '/auth/oidc/device',
    action: 'anyone',
    resource: systemResource,
    summary: 'Starts a device sign-in for the CLI (`berth login --oidc`) where the identity provider offers the device flow: open verificationUri and enter userCode.',
    body: null,
    query: null,
    response: DeviceStarted,
    audit: 'login.device',
    async handle(request, _reply, s) {
      const o = enabled(s);
      try {
        const started = await o.signIn.startDevice();
        s.audit.record({ actor: 'anonymous', action: 'login.device', resource: 'oidc', result: 'success', sourceAddress: request.ip, detail: { userCode: started.userCode } });
        return started;
      } catch (e) {
        if (e instanceof OidcSignInError) throw new ProblemError('UNAVAILABLE', e.message);
        throw e;
      }
    },
  },
  {
    method: 'POST',
    url: '/auth/oidc/device/token',
    action: 'anyone',
    resource: systemResource,
    summary: 'Finishes a device sign-in: waits up to 20 s for the user\'s approval (pending: ask again), then applies group roles and returns a new personal access token.',
    body: DeviceFinish,
    query: null,
    response: DeviceResult,
    audit: 'login',
    async handle(request, _reply, s) {
      const o = enabled(s);
      const input = body(DeviceFinish, request);
      let identity;
      try {
        identity = await o.signIn.finishDevice(input, DEVICE_WAIT_MS);
      } catch (e) {
        if (!(e instanceof OidcSignInError)) throw e;
        s.audit.record({ actor: 'anonymous', action: 'login', resource: 'oidc', result: 'failure', sourceAddress: request.ip, detail: { via: 'oidc-device', reason: e.message } });
        throw new ProblemError('UNAUTHORIZED', e.message);
      }
      if (!identity) return { pending: true, user: null, token: null, id: null, expiresAt: null };
      let user;
      try {
        user = await o.groups.signIn('oidc', identity.subject, identity.name, identity.groups, request.ip);
      } catch (e) {
        if (e instanceof SignInRefused) throw new ProblemError('FORBIDDEN', e.message);
        throw e;
      }
      s.audit.record({ actor: user.name, action: 'login', resource: `user:${user.name}`, result: 'success', sourceAddress: request.ip, detail: { via: 'oidc-device', subject: identity.subject, groups: identity.groups.slice(0, 100) } });
      const t = await s.users.createToken(userPrincipal(user, 'password'), user.name, { name: input.tokenName, expiresInDays: input.expiresInDays }, request.ip);
      return { pending: false, user: user.name, token: t.token, id: t.id, expiresAt: t.expiresAt };
    },
  },
  {
    method: 'GET',
    url: '/auth/oidc/callback',
    action: 'anyone',
    resource: systemResource,
    summary: 'Where the identity provider returns: checks state, PKCE, the ID token and its nonce, applies group roles, starts the session and redirects (303) to the UI.',
    body: null,
    query: queryOf({ code: true, state: true, iss: true, error: true, error_description: true, session_state: true }),
    response: null,
    audit: null,
    handle: callback,
  },
];
