/**
 * The Docker registry token endpoint, `/auth/token`: GET with Basic credentials (or none,
 * for anonymous pulls of public projects) and POST with the OAuth2 form
 * (`grant_type=password` or `refresh_token`). The granted actions are the intersection of the
 * requested scopes and what the policy allows; a refused action is simply left out, as
 * the token spec asks, and the registry then refuses the request that needed it.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/audit-log.js';
import { OciError } from '../errors/oci.js';
import type { AccessService } from '../policy/access.js';
import { principalName, type Grant, type Principal } from '../policy/principal.js';
import { REPOSITORY_ACTIONS, isRepositoryAction } from '../policy/roles.js';
import { isRepoName, projectOf, type RepoName } from '../domain/names.js';
import { AuthFailure, type Authenticator } from './authenticator.js';
import type { TokenIssuer } from './token-issuer.js';

/** Scopes one token request may ask for (clients ask for a handful). */
const MAX_SCOPES = 100;

/** Parses `type:name:actions` scopes (names never contain `:` in OCI, but tags-like ports might; the last `:` splits). */
export function parseScopes(scopes: string[]): { type: string; name: string; actions: string[] }[] {
  const out: { type: string; name: string; actions: string[] }[] = [];
  for (const s of scopes) {
    const first = s.indexOf(':');
    const last = s.lastIndexOf(':');
    if (first < 0 || last === first) continue;
    const type = s.slice(0, first).replace(/\(.*\)$/, '');
    out.push({ type, name: s.slice(first + 1, last), actions: s.slice(last + 1).split(',').filter(Boolean) });
  }
  return out;
}

export async function grantsFor(access: AccessService, principal: Principal, requested: { type: string; name: string; actions: string[] }[]): Promise<Grant[]> {
  const grants: Grant[] = [];
  for (const r of requested) {
    if (r.type === 'registry' && r.name === 'catalog') {
      if (principal.kind !== 'anonymous') grants.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      continue;
    }
    if (r.type !== 'repository' || !isRepoName(r.name)) continue;
    const asked = new Set(r.actions.flatMap((a) => (a === '*' ? [...REPOSITORY_ACTIONS] : isRepositoryAction(a) ? [a] : [])));
    const allowed: string[] = [];
    for (const a of asked) {
      const d = await access.check(principal, a as (typeof REPOSITORY_ACTIONS)[number], { kind: 'repository', name: r.name, project: projectOf(r.name as RepoName) });
      if (d.allow) allowed.push(a);
    }
    if (allowed.length > 0) grants.push({ type: 'repository', name: r.name, actions: allowed });
  }
  return grants;
}

function list(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** A form body; a repeated key (`scope`) becomes a list. */
function parseForm(body: string): Record<string, string | string[]> {
  const form: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = form[k];
    form[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return form;
}

/** Who an OAuth2 token request (POST /auth/token) speaks for: a password or a refresh token. */
async function principalOfGrant(authenticator: Authenticator, grantType: string, f: Record<string, unknown>, ip: string): Promise<Principal> {
  if (grantType === 'password') {
    if (typeof f.username !== 'string' || typeof f.password !== 'string') throw new OciError('UNAUTHORIZED', { reason: 'username and password are required' });
    try {
      return await authenticator.login(f.username, f.password, ip, 'oauth2');
    } catch (e) {
      if (!(e instanceof AuthFailure)) throw e;
      if (e.retryAfter) throw new OciError('TOOMANYREQUESTS', { reason: e.message }, { headers: { 'Retry-After': String(e.retryAfter) } });
      throw new OciError('UNAUTHORIZED', { reason: e.message });
    }
  }
  if (grantType === 'refresh_token') {
    // The refresh token stands for the credential it was issued for (a personal access
    // token keeps its scopes), never more, and only while that credential stands.
    try {
      return await authenticator.refresh(String(f.refresh_token ?? ''));
    } catch (e) {
      if (!(e instanceof AuthFailure)) throw e;
      throw new OciError('UNAUTHORIZED', { reason: e.message });
    }
  }
  throw new OciError('UNSUPPORTED', { reason: `grant_type must be password or refresh_token, not ${JSON.stringify(grantType.slice(0, 50))}` }, { status: 400 });
}

export function tokenRoutes(deps: { access: AccessService; authenticator: Authenticator; tokens: TokenIssuer; audit: AuditLog; service: string }) {
  const { access, authenticator, tokens, audit, service } = deps;

  async function respond(request: FastifyRequest, principal: Principal, scopes: string[], wantRefresh: boolean, grant: string) {
    // Scopes past the first MAX_SCOPES are left out, like any refused scope: each costs a policy check.
    const asked = parseScopes(scopes).slice(0, MAX_SCOPES);
    const grants = await grantsFor(access, principal, asked);
    const subject = principal.kind === 'anonymous' ? '' : principalName(principal);
    // The origin ties both tokens to this account and credential: they die with either.
    const origin = authenticator.originOf(principal);
    // A CI job's token never outlives its ID token, and gets no refresh token.
    const notAfter = principal.kind === 'workload' ? principal.expiresAt : undefined;
    const issued = await tokens.issueAccess(subject, grants, origin, notAfter);
    const body: Record<string, unknown> = { token: issued.token, access_token: issued.token, expires_in: issued.expiresIn, issued_at: issued.issuedAt };
    if (wantRefresh && origin && origin.via !== 'workload') body.refresh_token = await tokens.issueRefresh(subject, origin);
    audit.record({
      actor: principalName(principal),
      action: 'token.issue',
      resource: asked.map((a) => `${a.type}:${a.name}:${a.actions.join(',')}`).join(' ') || 'registry',
      project: asked.length === 1 && asked[0]!.type === 'repository' && isRepoName(asked[0]!.name) ? projectOf(asked[0]!.name as RepoName) : null,
      result: 'success',
      sourceAddress: request.ip,
      detail: { grant, granted: grants, ...(principal.kind === 'workload' ? { issuer: principal.issuer, subject: principal.subject } : {}) },
    });
    return body;
  }

  function checkService(s: unknown): void {
    if (s !== undefined && s !== service) throw new OciError('DENIED', { reason: `this token service is ${JSON.stringify(service)}, not ${JSON.stringify(String(s).slice(0, 100))}` }, { status: 400 });
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, parseForm(body as string)));

    app.get('/auth/token', { config: { action: 'anyone' } }, async (request) => {
      const q = request.query as Record<string, unknown>;
      checkService(q.service);
      return respond(request, request.principal, list(q.scope), q.offline_token === 'true', 'basic');
    });

    app.post('/auth/token', { config: { action: 'anyone' } }, async (request) => {
      const f = (request.body ?? {}) as Record<string, unknown>;
      checkService(f.service);
      const scopes = list(f.scope).flatMap((s) => s.split(' ')).filter(Boolean);
      const grantType = String(f.grant_type ?? '');
      const principal = await principalOfGrant(authenticator, grantType, f, request.ip);
      return respond(request, principal, scopes, true, grantType);
    });
  };
}
