/** `GET /v2/` (the version check) and `GET /v2/_catalog`. */
import type { RegistryRoute } from './route.js';
import { sendJson, linkHeader } from './respond.js';

export const baseRoutes: RegistryRoute[] = [
  {
    method: 'GET',
    path: /^$/,
    action: 'base',
    name: 'version check',
    async handle({ reply, services }) {
      await services.health.check();
      sendJson(reply, 200, {});
    },
  },
  {
    method: 'HEAD',
    path: /^$/,
    action: 'base',
    name: 'version check',
    async handle({ reply, services }) {
      await services.health.check();
      reply.code(200).header('Content-Type', 'application/json').header('Content-Length', '2').send();
    },
  },
  {
    method: 'GET',
    path: /^_catalog$/,
    action: 'catalog',
    name: 'list repositories',
    async handle({ reply, query, services, listable }) {
      // Only repositories the caller may pull are listed.
      const page = await services.listing.catalog({ n: query.n, last: query.last }, listable);
      if (page.next !== undefined) reply.header('Link', linkHeader('/v2/_catalog', query.n, page.next));
      sendJson(reply, 200, { repositories: page.items });
    },
  },
];
