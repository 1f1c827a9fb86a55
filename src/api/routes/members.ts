/** `/projects/{name}/members`: list, set a role, remove. */
import { z } from 'zod';
import { ROLES } from '../../policy/roles.js';
import { body, params, projectResource, type ApiRoute } from '../route.js';

const Put = z.strictObject({ role: z.enum(ROLES as ['admin', 'maintainer', 'developer', 'guest']) });

export const memberRoutes: ApiRoute[] = [
  {
    method: 'GET',
    url: '/projects/:name/members',
    action: 'members.read',
    resource: projectResource,
    summary: 'Members of a project with their roles.',
    async handle(request, _reply, s) {
      return { items: await s.projects.members(params(request).name!), next: null };
    },
  },
  {
    method: 'PUT',
    url: '/projects/:name/members/:user',
    action: 'members.manage',
    resource: projectResource,
    summary: 'Give a user a role in the project (admin, maintainer, developer, guest).',
    body: Put,
    async handle(request, _reply, s) {
      const { name, user } = params(request) as { name: string; user: string };
      const { role } = body(Put, request);
      await s.projects.setMember(request.principal, name, user, role, request.ip);
      return { user, role };
    },
  },
  {
    method: 'DELETE',
    url: '/projects/:name/members/:user',
    action: 'members.manage',
    resource: projectResource,
    summary: 'Remove a user from the project.',
    async handle(request, reply, s) {
      const { name, user } = params(request) as { name: string; user: string };
      await s.projects.removeMember(request.principal, name, user, request.ip);
      reply.code(204);
      return null;
    },
  },
];
