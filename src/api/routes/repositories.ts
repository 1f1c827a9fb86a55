/** `/repositories`, tags and manifests (repository names are one URL-encoded path segment). */
import { parseLimit } from '../paging.js';
import { ManifestDetail, pageOf, RepositoryInfo, RepositorySummary, Tag } from '../schemas.js';
import { LIST_QUERY, params, query, queryOf, repositoryResource, systemResource, type ApiRoute } from '../route.js';

export const repositoryRoutes: ApiRoute[] = [
  {
    method: 'GET',
    url: '/repositories',
    action: 'anyone',
    resource: systemResource,
    summary: 'Repositories the caller may pull, with counts, sizes and push/pull times.',
    body: null,
    query: queryOf({ project: true, q: true, ...LIST_QUERY }),
    response: pageOf(RepositorySummary),
    audit: null,
    async handle(request, _reply, s) {
      const q = query(request);
      return s.repositories.list(request.principal, { project: q.project || undefined, q: q.q || undefined, limit: parseLimit(q.limit), cursor: q.cursor });
    },
  },
  {
    method: 'GET',
    url: '/repositories/:repo',
    action: 'pull',
    resource: repositoryResource,
    summary: 'One repository and what the caller may do with it.',
    body: null,
    query: null,
    response: RepositoryInfo,
    audit: null,
    async handle(request, _reply, s) {
      return s.repositories.get(request.principal, params(request).repo!);
    },
  },
  {
    method: 'GET',
    url: '/repositories/:repo/tags',
    action: 'pull',
    resource: repositoryResource,
    summary: 'Tags in name order with digest, size and platforms.',
    body: null,
    query: queryOf({ q: true, ...LIST_QUERY }),
    response: pageOf(Tag),
    audit: null,
    async handle(request, _reply, s) {
      const q = query(request);
      return s.repositories.tags(params(request).repo!, { q: q.q || undefined, limit: parseLimit(q.limit), cursor: q.cursor });
    },
  },
  {
    method: 'DELETE',
    url: '/repositories/:repo/tags/:tag',
    action: 'delete',
    resource: repositoryResource,
    summary: 'Delete a tag (the manifest stays).',
    body: null,
    query: null,
    response: null,
    audit: 'delete',
    async handle(request, reply, s) {
      const p = params(request);
      await s.repositories.deleteTag(request.principal, p.repo!, p.tag!, request.ip);
      reply.code(204);
      return null;
    },
  },
  {
    method: 'GET',
    url: '/repositories/:repo/manifests/:digest',
    action: 'pull',
    resource: repositoryResource,
    summary: 'One manifest with its config, layers, children and referrers.',
    body: null,
    query: null,
    response: ManifestDetail,
    audit: null,
    async handle(request, _reply, s) {
      const p = params(request);
      return s.repositories.manifest(p.repo!, p.digest!);
    },
  },
  {
    method: 'DELETE',
    url: '/repositories/:repo/manifests/:digest',
    action: 'delete',
    resource: repositoryResource,
    summary: 'Delete a manifest and the tags pointing at it.',
    body: null,
    query: null,
    response: null,
    audit: 'delete',
    async handle(request, reply, s) {
      const p = params(request);
      await s.repositories.deleteManifest(request.principal, p.repo!, p.digest!, request.ip);
      reply.code(204);
      return null;
    },
  },
];
