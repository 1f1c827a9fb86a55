/** `/projects/{name}/robots`: list, create (the secret is returned once), delete. */
import { z } from 'zod';
import { pageOfList, parseLimit } from '../paging.js';
import { pageOf, Robot, RobotCreated } from '../schemas.js';
import { body, LIST_QUERY, params, projectResource, query, queryOf, type ApiRoute } from '../route.js';

const Create = z.strictObject({ name: z.string().min(1).max(64), permissions: z.array(z.string()).min(1), expiresInDays: z.number().int().min(1).max(3650).optional() });

export const robotRoutes: ApiRoute[] = [
  {
    method: 'GET',
    url: '/projects/:name/robots',
    action: 'robots.read',
    resource: projectResource,
    summary: 'Robot accounts of a project.',
    body: null,
    query: queryOf(LIST_QUERY),
    response: pageOf(Robot),
    audit: null,
    async handle(request, _reply, s) {
      const q = query(request);
      return pageOfList(await s.robots.list(params(request).name!), parseLimit(q.limit, 200, 1000), q.cursor);
    },
  },
  {
    method: 'POST',
    url: '/projects/:name/robots',
    action: 'robots.manage',
    resource: projectResource,
    summary: 'Create a robot account; its secret is in this response only.',
    body: Create,
    query: null,
    response: RobotCreated,
    status: 201,
    audit: 'robot.create',
    async handle(request, reply, s) {
      const r = await s.robots.create(request.principal, params(request).name!, body(Create, request), request.ip);
      reply.code(201);
      return r;
    },
  },
  {
    method: 'DELETE',
    url: '/projects/:name/robots/:robot',
    action: 'robots.manage',
    resource: projectResource,
    summary: 'Delete (revoke) a robot account; its tokens stop working at once.',
    body: null,
    query: null,
    response: null,
    audit: 'robot.delete',
    async handle(request, reply, s) {
      const { name, robot } = params(request) as { name: string; robot: string };
      await s.robots.delete(request.principal, name, robot, request.ip);
      reply.code(204);
      return null;
    },
  },
];
