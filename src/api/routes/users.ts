/** `/users`: list, create, change (password, disabled, admin), delete. */
import { z } from 'zod';
import { parseLimit } from '../paging.js';
import { pageOf, UserRow } from '../schemas.js';
import { body, LIST_QUERY, query, queryOf, systemResource, userParam, userResource, type ApiRoute } from '../route.js';

const Create = z.strictObject({ name: z.string().min(1).max(64), password: z.string().min(1).max(256), admin: z.boolean().optional() });
const Patch = z.strictObject({
  password: z.string().min(1).max(256).optional(),
  currentPassword: z.string().min(1).max(256).optional(),
  disabled: z.boolean().optional(),
  admin: z.boolean().optional(),
});

export const userRoutes: ApiRoute[] = [
  {
    method: 'GET',
    url: '/users',
    action: 'users.manage',
    resource: systemResource,
    summary: 'All users (system admins).',
    body: null,
    query: queryOf(LIST_QUERY),
    response: pageOf(UserRow),
    audit: null,
    async handle(request, _reply, s) {
      const q = query(request);
      return s.users.list(parseLimit(q.limit), q.cursor);
    },
  },
  {
    method: 'POST',
    url: '/users',
    action: 'users.manage',
    resource: systemResource,
    summary: 'Create a local user (system admins).',
    body: Create,
    query: null,
    response: UserRow,
    status: 201,
    audit: 'user.create',
    async handle(request, reply, s) {
      const u = await s.users.create(request.principal, body(Create, request), request.ip);
      reply.code(201);
      return u;
    },
  },
  {
    method: 'PATCH',
    url: '/users/:name',
    action: 'account.update',
    resource: userResource,
    summary: 'Change a password (your own needs currentPassword; an admin may reset another user\'s), or disable / make admin (system admins).',
    body: Patch,
    query: null,
    response: UserRow,
    audit: 'user.update',
    async handle(request, _reply, s) {
      return s.users.update(request.principal, userParam(request), body(Patch, request), request.ip);
    },
  },
  {
    method: 'DELETE',
    url: '/users/:name',
    action: 'users.manage',
    resource: systemResource,
    summary: 'Delete a user; their tokens and sessions stop working at once.',
    body: null,
    query: null,
    response: null,
    audit: 'user.delete',
    async handle(request, reply, s) {
      await s.users.delete(request.principal, userParam(request), request.ip);
      reply.code(204);
      return null;
    },
  },
];
