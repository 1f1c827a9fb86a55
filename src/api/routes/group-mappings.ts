/** `/projects/{name}/group-mappings`: the identity-provider groups that grant roles in a project (`auth.groupMappings`, read-only). */
import { z } from 'zod';
import { pageOfList, parseLimit } from '../paging.js';
import { pageOf, Role } from '../schemas.js';
import { LIST_QUERY, params, projectResource, query, queryOf, type ApiRoute } from '../route.js';

const GroupMapping = z.object({ group: z.string(), role: Role, admin: z.boolean().describe('Members of this group are also system admins (auth.adminGroups).') });

export const groupMappingRoutes: ApiRoute[] = [
  {
    method: 'GET',
    url: '/projects/:name/group-mappings',
    action: 'members.read',
    resource: projectResource,
    summary: 'Identity-provider groups (OIDC, LDAP) whose members get a role in this project at every sign-in; set in the configuration (auth.groupMappings).',
    body: null,
    query: queryOf(LIST_QUERY),
    response: pageOf(GroupMapping),
    audit: null,
    async handle(request, _reply, s) {
      const q = query(request);
      return pageOfList(await s.trustPolicies.groupMappings(params(request).name!), parseLimit(q.limit, 200, 1000), q.cursor);
    },
  },
];
