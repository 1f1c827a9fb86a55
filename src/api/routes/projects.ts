/** `/projects` and `/projects/{name}`: list, create, read, change visibility, delete. */
import { z } from 'zod';
import { parseLimit } from '../paging.js';
import { pageOf, Project } from '../schemas.js';
import { body, LIST_QUERY, params, projectResource, query, queryOf, systemResource, type ApiRoute } from '../route.js';

const Create = z.strictObject({ name: z.string().min(1).max(64), public: z.boolean().default(false) });
const Patch = z.strictObject({ public: z.boolean().optional() });

export const projectRoutes: ApiRoute[] = [
  {
    method: 'GET',
    url: '/projects',
    action: 'anyone',
    resource: systemResource,
    summary: 'Projects the caller may see (public ones, and those the caller belongs to).',
    body: null,
    query: queryOf(LIST_QUERY),
    response: pageOf(Project),
    audit: null,
    async handle(request, _reply, s) {
      const q = query(request);
      return s.projects.list(request.principal, parseLimit(q.limit), q.cursor);
    },
  },
  {
    method: 'POST',
    url: '/projects',
    action: 'project.create',
    resource: systemResource,
    summary: 'Create a project; the caller becomes its admin.',
    body: Create,
    query: null,
    response: Project,
    status: 201,
    audit: 'project.create',
    async handle(request, reply, s) {
      const input = body(Create, request);
      reply.code(201);
      return s.projects.create(request.principal, input, request.ip);
    },
  },
  {
    method: 'GET',
    url: '/projects/:name',
    action: 'project.read',
    resource: projectResource,
    summary: 'One project with its usage and the caller role.',
    body: null,
    query: null,
    response: Project,
    audit: null,
    async handle(request, _reply, s) {
      return s.projects.get(request.principal, params(request).name!);
    },
  },
  {
    method: 'PATCH',
    url: '/projects/:name',
    action: 'project.update',
    resource: projectResource,
    summary: 'Make a project public or private.',
    body: Patch,
    query: null,
    response: Project,
    audit: 'project.update',
    async handle(request, _reply, s) {
      return s.projects.update(request.principal, params(request).name!, body(Patch, request), request.ip);
    },
  },
  {
    method: 'DELETE',
    url: '/projects/:name',
    action: 'project.delete',
    resource: projectResource,
    summary: 'Delete an empty project (its members and robots go with it).',
    body: null,
    query: null,
    response: null,
    audit: 'project.delete',
    async handle(request, reply, s) {
      await s.projects.delete(request.principal, params(request).name!, request.ip);
      reply.code(204);
      return null;
    },
  },
];
