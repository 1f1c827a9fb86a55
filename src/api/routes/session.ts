/** `/auth/login`, `/auth/logout`, `/auth/me`: the web UI's cookie session (with a CSRF token). */
import { z } from 'zod';
import { SESSION_COOKIE, AuthFailure, readCredentials } from '../../auth/authenticator.js';
import { ProblemError } from '../../errors/problem.js';
import { principalName } from '../../policy/principal.js';
import { Me, Session } from '../schemas.js';
import { body, systemResource, type ApiRoute } from '../route.js';

const Login = z.strictObject({ username: z.string().min(1).max(200), password: z.string().min(1).max(1024) });

/** The UI session cookie (also set by OIDC sign-in, routes/oidc.ts). */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export const sessionRoutes: ApiRoute[] = [
  {
    method: 'POST',
    url: '/auth/login',
    action: 'anyone',
    resource: systemResource,
    summary: 'Sign in with a user name and password; sets the session cookie and returns the CSRF token.',
    body: Login,
    query: null,
    response: Session,
    audit: 'login',
    async handle(request, reply, s) {
      const input = body(Login, request);
      let p;
      try {
        p = await s.authenticator.login(input.username, input.password, request.ip, 'ui');
      } catch (e) {
        if (!(e instanceof AuthFailure)) throw e;
        if (e.retryAfter) throw new ProblemError('TOO_MANY_REQUESTS', e.message, {}, { 'Retry-After': String(e.retryAfter) });
        throw new ProblemError('UNAUTHORIZED', e.message);
      }
      if (p.kind !== 'user') throw new ProblemError('FORBIDDEN', 'robot accounts cannot sign in to the web UI');
      const session = await s.users.startSession(p);
      reply.header('Set-Cookie', sessionCookie(session.id, Math.floor(s.sessionTtlMs / 1000), request.protocol === 'https'));
      return { user: { name: p.name, admin: p.admin }, csrfToken: session.csrfToken };
    },
  },
  {
    method: 'POST',
    url: '/auth/logout',
    action: 'anyone',
    resource: systemResource,
    summary: 'End the session and clear the cookie.',
    body: null,
    query: null,
    response: null,
    audit: 'logout',
    async handle(request, reply, s) {
      const c = readCredentials(request.headers);
      if (c.kind === 'session') {
        await s.users.endSession(c.id);
        const who = principalName(request.principal);
        if (request.principal.kind === 'user') s.audit.record({ actor: who, action: 'logout', resource: `user:${who}`, result: 'success', sourceAddress: request.ip });
      }
      reply.header('Set-Cookie', sessionCookie('', 0, request.protocol === 'https'));
      reply.code(204);
      return null;
    },
  },
  {
    method: 'GET',
    url: '/auth/me',
    // The web UI asks on every load: being signed out is an answer, not an error (a 401 here
    // would be a red line in the browser console of every anonymous visitor).
    action: 'anyone',
    resource: systemResource,
    body: null,
    query: null,
    response: Me,
    audit: null,
    summary: 'The signed-in user (and the session CSRF token when signed in with the cookie); `user` is null when not signed in as a user.',
    async handle(request) {
      const p = request.principal;
      if (p.kind !== 'user') return { user: null, csrfToken: null, signedIn: false };
      return { user: { name: p.name, admin: p.admin }, csrfToken: request.csrfToken ?? null, signedIn: true };
    },
  },
];
