/** `/users/{name}/tokens`: personal access tokens (`me` for the caller). */
import { z } from 'zod';
import { pageOfList, parseLimit } from '../paging.js';
import { pageOf, TokenCreated, TokenRow } from '../schemas.js';
import { body, LIST_QUERY, params, query, queryOf, userParam, userResource, type ApiRoute } from '../route.js';

const Create = z.strictObject({ name: z.string().min(1).max(100), scopes: z.array(z.string()).optional(), expiresInDays: z.number().int().min(1).max(3650).optional() });

export const tokenRoutes: ApiRoute[] = [
  {
    method: 'GET',
    url: '/users/:name/tokens',
    action: 'account.read',
    resource: userResource,
    summary: 'Personal access tokens of a user (never their secrets).',
    body: null,
    query: queryOf(LIST_QUERY),
    response: pageOf(TokenRow),
    audit: null,
    async handle(request, _reply, s) {
      const q = query(request);
      return pageOfList(await s.users.tokens(userParam(request)), parseLimit(q.limit, 200, 1000), q.cursor);
    },
  },
  {
    method: 'POST',
    url: '/users/:name/tokens',
    action: 'account.update',
    resource: userResource,
    summary: 'Create a personal access token; the token is in this response only. Scopes: pull, push, delete, manage (none: everything the user may do).',
    body: Create,
    query: null,
    response: TokenCreated,
    status: 201,
    audit: 'token.create',
    async handle(request, reply, s) {
      const t = await s.users.createToken(request.principal, userParam(request), body(Create, request), request.ip);
      reply.code(201);
      return t;
    },
  },
  {
    method: 'DELETE',
    url: '/users/:name/tokens/:id',
    action: 'account.update',
    resource: userResource,
    summary: 'Revoke a personal access token.',
    body: null,
    query: null,
    response: null,
    audit: 'token.delete',
    async handle(request, reply, s) {
      await s.users.deleteToken(request.principal, userParam(request), params(request).id!, request.ip);
      reply.code(204);
      return null;
    },
  },
];
