/** `/projects/{name}/trust-policies`: the OIDC issuers whose CI ID tokens may act on the project (keyless login). */
import { z } from 'zod';
import { ProblemError } from '../../errors/problem.js';
import { pageOfList, parseLimit } from '../paging.js';
import { pageOf, TrustPolicy } from '../schemas.js';
import { body, LIST_QUERY, params, projectResource, query, queryOf, type ApiRoute } from '../route.js';

const Create = z.strictObject({
  issuer: z.string().min(1).max(500).describe('The issuer URL exactly as the tokens\' iss claim, e.g. https://gitlab.example.com or https://token.actions.githubusercontent.com'),
  audience: z.string().min(1).max(200).describe('The audience the CI job requests for its token (its aud claim must contain it).'),
  claims: z.record(z.string().min(1).max(100), z.string().max(500)).describe('Claims the token must carry: exact value, or a glob where * matches any run of characters.'),
  permissions: z.array(z.string()).min(1).max(3).describe('Repository actions granted on the project: pull, push, delete.'),
});

export const trustPolicyRoutes: ApiRoute[] = [
  {
    method: 'GET',
    url: '/projects/:name/trust-policies',
    action: 'trust.read',
    resource: projectResource,
    summary: 'Trust policies of a project: which CI ID tokens may log in, with which permissions.',
    body: null,
    query: queryOf(LIST_QUERY),
    response: pageOf(TrustPolicy),
    audit: null,
    async handle(request, _reply, s) {
      const q = query(request);
      return pageOfList(await s.trustPolicies.list(params(request).name!), parseLimit(q.limit, 200, 1000), q.cursor);
    },
  },
  {
    method: 'POST',
    url: '/projects/:name/trust-policies',
    action: 'trust.manage',
    resource: projectResource,
    summary: 'Trust an OIDC issuer\'s CI ID tokens carrying the given audience and claims (log in as user `oidc` with the token as password).',
    body: Create,
    query: null,
    response: TrustPolicy,
    status: 201,
    audit: 'trust-policy.create',
    async handle(request, reply, s) {
      const r = await s.trustPolicies.create(request.principal, params(request).name!, body(Create, request), request.ip);
      reply.code(201);
      return r;
    },
  },
  {
    method: 'DELETE',
    url: '/projects/:name/trust-policies/:id',
    action: 'trust.manage',
    resource: projectResource,
    summary: 'Delete a trust policy; new logins through it stop at once.',
    body: null,
    query: null,
    response: null,
    audit: 'trust-policy.delete',
    async handle(request, reply, s) {
      const { name, id } = params(request) as { name: string; id: string };
      if (!/^[1-9][0-9]{0,15}$/.test(id)) throw new ProblemError('INVALID', 'trust policy id must be a positive integer');
      await s.trustPolicies.delete(request.principal, name, Number(id), request.ip);
      reply.code(204);
      return null;
    },
  },
];
