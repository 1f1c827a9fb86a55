/** `/users`: list, create, change (password, disabled, admin), delete. */
import { z } from 'zod';
import { parseLimit } from '../paging.js';
import { body, query, userParam, userResource, type ApiRoute } from '../route.js';

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
    summary: 'All users (system admins).',
    query: ['limit', 'cursor'],
    async handle(request, _reply, s) {
      const q = query(request);
      return s.users.list(parseLimit(q.limit), q.cursor);
    },
  },
  {
    method: 'POST',
    url: '/users',
    action: 'users.manage',
    summary: 'Create a local user (system admins).',
    body: Create,
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
    async handle(request, _reply, s) {
      return s.users.update(request.principal, userParam(request), body(Patch, request), request.ip);
    },
  },
  {
    method: 'DELETE',
    url: '/users/:name',
    action: 'users.manage',
    summary: 'Delete a user; their tokens and sessions stop working at once.',
    async handle(request, reply, s) {
      await s.users.delete(request.principal, userParam(request), request.ip);
      reply.code(204);
      return null;
    },
  },
];
