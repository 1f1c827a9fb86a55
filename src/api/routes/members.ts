/** `/projects/{name}/members`: list, set a role, remove. */
import { z } from 'zod';
import { ROLES } from '../../policy/roles.js';
import { pageOfList, parseLimit } from '../paging.js';
import { Member, pageOf } from '../schemas.js';
import { body, LIST_QUERY, params, projectResource, query, queryOf, type ApiRoute } from '../route.js';

const Put = z.strictObject({ role: z.enum(ROLES as ['admin', 'maintainer', 'developer', 'guest']) });

export const memberRoutes: ApiRoute[] = [
  {
    method: 'GET',
    url: '/projects/:name/members',
    action: 'members.read',
    resource: projectResource,
    summary: 'Members of a project with their roles.',
    body: null,
    query: queryOf(LIST_QUERY),
    response: pageOf(Member),
    audit: null,
    async handle(request, _reply, s) {
      const q = query(request);
      return pageOfList(await s.projects.members(params(request).name!), parseLimit(q.limit, 200, 1000), q.cursor);
    },
  },
  {
    method: 'PUT',
    url: '/projects/:name/members/:user',
    action: 'members.manage',
    resource: projectResource,
    summary: 'Give a user a role in the project (admin, maintainer, developer, guest).',
    body: Put,
    query: null,
    response: Member,
    audit: 'member.set',
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
    body: null,
    query: null,
    response: null,
    audit: 'member.remove',
    async handle(request, reply, s) {
      const { name, user } = params(request) as { name: string; user: string };
      await s.projects.removeMember(request.principal, name, user, request.ip);
      reply.code(204);
      return null;
    },
  },
];
