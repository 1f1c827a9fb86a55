/**
 * The HTTP side of authentication: the one onRequest hook that resolves the request's
 * principal (once, before any route runs), the /v2 challenge, and the /v2 authorizer that
 * asks the policy for every route's declared action. Also the /v2 audit hook (pulls, pushes,
 * deletes, with their result).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/audit-log.js';
import { OciError } from '../errors/oci.js';
import { ProblemError } from '../errors/problem.js';
import type { AuthStore } from '../metadata/auth-store.js';
import type { AccessService } from '../policy/access.js';
import { ANONYMOUS, principalName, readerOf, type Principal, type Reader } from '../policy/principal.js';
import { projectOf, type RepoName } from '../domain/names.js';
import { matchRoute, type RegistryAuthorizer } from '../registry/routes/index.js';
import type { RegistryAction } from '../registry/routes/route.js';
import { AuthFailure, type Authenticator } from './authenticator.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking; set by the authentication hook before any route runs. */
    principal: Principal;
    /** The UI session's CSRF token when the request came with the session cookie. */
    csrfToken: string | undefined;
  }
  interface FastifyInstance {
    /** Every route registered outside /v2's own table, with its declared action (for the route-walk test). */
    routeActions: { method: string; url: string; action: string | undefined }[];
  }
}

export interface HttpAuthOptions {
  service: string;
  realm?: string | undefined;
  autoCreateProjects: boolean;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isV2Url(url: string): boolean {
  return url === '/v2' || url.startsWith('/v2/') || url.startsWith('/v2?');
}

export function realmOf(request: FastifyRequest, options: HttpAuthOptions): string {
  if (options.realm) return options.realm;
  const proto = (request.headers['x-forwarded-proto'] as string | undefined)?.split(',')[0]?.trim() || request.protocol;
  return `${proto}://${request.headers.host ?? 'localhost'}/auth/token`;
}

/** The `scope` a client should ask for to perform `action` on `repo`. */
export function scopeFor(action: RegistryAction, repo: string): string | undefined {
  switch (action) {
    case 'base': return undefined;
    case 'catalog': return 'registry:catalog:*';
    case 'pull': return `repository:${repo}:pull`;
    case 'push': return `repository:${repo}:pull,push`;
    case 'delete': return `repository:${repo}:delete`;
  }
}

export function challenge(request: FastifyRequest, options: HttpAuthOptions, scope?: string, error?: string, description?: string): string {
  let h = `Bearer realm="${realmOf(request, options)}",service="${options.service}"`;
  if (scope) h += `,scope="${scope}"`;
  if (error) h += `,error="${error}"`;
  // RFC 6750: clients (skopeo, podman) print the description of an insufficient_scope error.
  if (error && description) h += `,error_description="${description.replace(/[\\"]/g, "'").replace(/[^\x20-\x7e]/g, '?')}"`;
  return h;
}

/** Installs the principal hook on the root instance (before any area registers its routes). */
export function installAuthentication(app: FastifyInstance, authenticator: Authenticator, options: HttpAuthOptions): void {
  app.decorateRequest('principal', null as never);
  app.decorateRequest('csrfToken', undefined);
  // Every route registered from now on must declare an action (/v2 dispatches through its own
  // table, where every entry has one); a route without one fails the start.
  const table: FastifyInstance['routeActions'] = [];
  app.decorate('routeActions', { getter: () => table });
  app.addHook('onRoute', (route) => {
    const action = (route.config as { action?: string } | undefined)?.action;
    const v2 = route.url === '/v2' || route.url.startsWith('/v2/');
    for (const method of [route.method].flat()) table.push({ method, url: route.url, action: v2 ? 'registry-table' : action });
    if (!v2 && !action) throw new Error(`route ${String(route.method)} ${route.url} declares no action`);
  });
  app.addHook('onRequest', async (request) => {
    const v2 = isV2Url(request.url);
    try {
      const p = await authenticator.resolve({ headers: request.headers, ip: request.ip, connection: request.raw.socket }, v2 ? 'registry' : 'other');
      const { csrfToken, ...principal } = p as Principal & { csrfToken?: string };
      request.principal = principal as Principal;
      request.csrfToken = csrfToken;
      // A browser sends the session cookie with any request a foreign page makes it send: on
      // /v2 a cookie alone authorizes reads only; a write must also prove it came from our UI.
      if (v2 && csrfToken !== undefined && !SAFE_METHODS.has(request.method) && request.headers['x-csrf-token'] !== csrfToken) {
        throw new OciError('DENIED', { reason: 'a session cookie authorizes /v2 writes only with its X-CSRF-Token header; use a token or Basic credentials' });
      }
    } catch (e) {
      if (!(e instanceof AuthFailure)) throw e;
      request.principal = ANONYMOUS;
      if (v2 || request.url.startsWith('/auth/')) {
        if (e.retryAfter) throw new OciError('TOOMANYREQUESTS', { reason: e.message }, { headers: { 'Retry-After': String(e.retryAfter) } });
        throw new OciError('UNAUTHORIZED', { reason: e.message }, { headers: { 'WWW-Authenticate': challenge(request, options, undefined, 'invalid_token') } });
      }
      if (e.retryAfter) throw new ProblemError('TOO_MANY_REQUESTS', e.message, {}, { 'Retry-After': String(e.retryAfter) });
      // As in the API plugin: no Basic challenge (a browser password dialog) for the web UI's fetches.
      throw new ProblemError('UNAUTHORIZED', e.message, {}, request.headers['x-requested-with'] ? {} : { 'WWW-Authenticate': 'Basic realm="berth"' });
    }
  });
}

/** The real /v2 authorizer: the policy decides every route's declared action. */
/**
 * `subject` finds the account behind a registry token, so that a token lacking an action is
 * refused with the account's own reason (a missing project, a robot without `delete`) rather
 * than told to ask for a scope the token endpoint would refuse again, and so that a catalog
 * grant lists what that account may pull now.
 */
export function registryAuthorizer(access: AccessService, store: AuthStore, audit: AuditLog, options: HttpAuthOptions, subject: (name: string) => Promise<Principal | undefined> = async () => undefined): RegistryAuthorizer {
  // Who a catalog request lists for, resolved once per request (a page may check many names).
  const listers = new WeakMap<FastifyRequest, Promise<Principal>>();
  const listed = new WeakMap<FastifyRequest, Map<string, boolean>>();
  function lister(request: FastifyRequest): Promise<Principal> {
    let p = listers.get(request);
    if (!p) {
      const caller = request.principal;
      // A registry token stands for its subject as that account is now: a removed or
      // disabled subject lists nothing it could not pull anonymously.
      p = caller.kind === 'token' ? (caller.subject === '' ? Promise.resolve(ANONYMOUS) : subject(caller.subject).then((s) => s ?? ANONYMOUS)) : Promise.resolve(caller);
      listers.set(request, p);
    }
    return p;
  }

  async function createProject(p: Principal, project: string): Promise<void> {
    const owner = p.kind === 'user' ? p.name : p.kind === 'token' ? p.subject : undefined;
    if (owner === undefined) return;
    await store.transaction(async (tx) => {
      if (await tx.projects.get(project)) return;
      const user = await tx.users.byName(owner);
      if (!user) return;
      await tx.projects.insert({ name: project, public: false }, Date.now());
      await tx.members.set(project, user.id, 'admin', Date.now());
      await audit.recordIn(tx, { actor: owner, action: 'project.create', resource: `project:${project}`, project, result: 'success', detail: { autoCreated: true } });
    });
    await access.invalidate();
  }

  return {
    async authorize(request: FastifyRequest, _reply: FastifyReply, action: RegistryAction, repo: RepoName): Promise<void> {
      const p = request.principal;
      const resource = action === 'base' || action === 'catalog' ? ({ kind: 'system' } as const) : ({ kind: 'repository', name: repo, project: projectOf(repo) } as const);
      const d = await access.check(p, action, resource);
      if (d.allow) {
        if (action === 'push' && options.autoCreateProjects && (d.createProject || !(await access.project(projectOf(repo))))) await createProject(p, projectOf(repo));
        return;
      }
      let reason = d.reason;
      if (p.kind === 'token' && action !== 'base' && action !== 'catalog') {
        // The token endpoint leaves out what the account may not do; "request a token with that
        // scope" would send the client round again, so the refusal carries the account's reason.
        const who = await subject(p.subject);
        const own = who ? await access.check(who, action, resource) : undefined;
        if (own && !own.allow) reason = own.reason;
      }
      // A token lacking a scope gets a challenge naming it (insufficient_scope, as the token spec
      // has it), with the reason as its error_description, which clients print.
      if (d.needsLogin || p.kind === 'token') {
        throw new OciError('UNAUTHORIZED', { reason }, { headers: { 'WWW-Authenticate': challenge(request, options, scopeFor(action, repo), p.kind === 'token' ? 'insufficient_scope' : undefined, reason) } });
      }
      throw new OciError('DENIED', { reason: d.reason });
    },
    async may(request: FastifyRequest, action: 'pull' | 'push' | 'delete', repo: string): Promise<boolean> {
      return (await access.check(request.principal, action, { kind: 'repository', name: repo, project: projectOf(repo as RepoName) })).allow;
    },
    async listable(request: FastifyRequest, repo: string): Promise<boolean> {
      // The lister is an account (a token stands for its subject here), and an account's right
      // to pull is decided per project: one decision per project serves a whole catalog page.
      const project = projectOf(repo as RepoName);
      let byProject = listed.get(request);
      if (!byProject) listed.set(request, (byProject = new Map()));
      let allowed = byProject.get(project);
      if (allowed === undefined) {
        allowed = (await access.check(await lister(request), 'pull', { kind: 'repository', name: repo, project })).allow;
        byProject.set(project, allowed);
      }
      return allowed;
    },
    reader(request: FastifyRequest, repo: string): Reader {
      return readerOf(request.principal, repo);
    },
  };
}

const AUDITED: Record<string, string> = {
  'get manifest': 'pull',
  'push manifest': 'push',
  'delete manifest or tag': 'delete',
  'delete blob': 'delete',
};

/** Audits manifest pulls, pushes and deletes on /v2 with their outcome. */
export function installRegistryAudit(app: FastifyInstance, audit: AuditLog, recordPulls: boolean): void {
  // A callback hook (see src/http/server.ts): recording never waits.
  app.addHook('onResponse', (request, reply, done) => {
    auditResponse(request, reply.statusCode);
    done();
  });

  function auditResponse(request: FastifyRequest, status: number): void {
    if (!isV2Url(request.url)) return;
    // Dispatched requests carry their match; one refused before dispatch (bad credentials) is matched here.
    let match: { route: { name: string }; repo: string; param: string } | undefined;
    if (request.registryRoute && request.registryTarget) match = { route: request.registryRoute, ...request.registryTarget };
    else {
      const q = request.url.indexOf('?');
      const path = (q < 0 ? request.url : request.url.slice(0, q)).replace(/^\/v2\/?/, '');
      try {
        const m = matchRoute(request.method, path);
        if (m && 'route' in m) match = m;
      } catch {
        return; // invalid name: refused before any access
      }
    }
    if (!match) return;
    const action = AUDITED[match.route.name];
    if (!action || (action === 'pull' && !recordPulls)) return;
    audit.record({
      actor: principalName(request.principal ?? ANONYMOUS),
      action,
      resource: `${match.repo}:${match.param}`,
      project: projectOf(match.repo as RepoName),
      result: status < 400 ? 'success' : 'failure',
      sourceAddress: request.ip,
      detail: { status, route: match.route.name },
    });
  }
}
