/** `GET /v2/<name>/tags/list` with `n` and `last`. */
import type { RegistryRoute } from './route.js';
import { linkHeader, sendJson } from './respond.js';
import type { ServedHeaders } from '../services.js';

export const tagRoutes: RegistryRoute[] = [
  {
    method: 'GET',
    path: /^(.+)\/tags\/list$/,
    action: 'pull',
    name: 'list tags',
    async handle({ reply, repo, query, services }) {
      const page = await services.listing.tags(repo, { n: query.n, last: query.last });
      // A pull-through cache says where the list came from (X-Berth-Proxy, Warning when stale).
      const extra = (page as ServedHeaders).headers;
      if (extra) reply.headers(extra);
      if (page.next !== undefined) reply.header('Link', linkHeader(`/v2/${repo}/tags/list`, query.n, page.next));
      sendJson(reply, 200, { name: repo, tags: page.items });
    },
  },
];
