/** `GET /v2/<name>/referrers/<digest>` with the `artifactType` filter and paging. */
import { MediaType } from '../manifest/media-types.js';
import { ListingService } from '../listing.js';
import { parseDigest } from '../../domain/names.js';
import type { RegistryRoute } from './route.js';
import { linkHeader, sendJson } from './respond.js';

export const referrerRoutes: RegistryRoute[] = [
  {
    method: 'GET',
    path: /^(.+)\/referrers\/([^/]+)$/,
    action: 'pull',
    name: 'list referrers',
    async handle({ reply, repo, param, query, services }) {
      const subject = parseDigest(param);
      const artifactType = query.artifactType || undefined;
      const page = await services.listing.referrers(repo, subject, artifactType, { n: query.n, last: query.last });
      if (artifactType !== undefined) reply.header('OCI-Filters-Applied', 'artifactType');
      if (page.next !== undefined) {
        reply.header('Link', linkHeader(`/v2/${repo}/referrers/${subject}`, query.n, page.next, artifactType ? { artifactType } : {}));
      }
      sendJson(reply, 200, ListingService.referrersIndex(page.items), MediaType.OciIndex);
    },
  },
];
