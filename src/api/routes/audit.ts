/** `/audit`: the audit log, newest first; a project's admins and maintainers may read its events. */
import type { FastifyRequest } from 'fastify';
import { ProblemError } from '../../errors/problem.js';
import type { Resource } from '../../policy/authorize.js';
import { decodeCursor, encodeCursor, parseLimit } from '../paging.js';
import { AuditEntry, pageOf } from '../schemas.js';
import { LIST_QUERY, query, queryOf, type ApiRoute } from '../route.js';

function time(s: string | undefined, name: string): number | undefined {
  if (!s) return undefined;
  const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (Number.isNaN(t)) throw new ProblemError('INVALID', `${name} must be an ISO time or epoch milliseconds`);
  return t;
}

/** The cursor is the last event's time and id (`at.id`): the order is by time, then id. */
function before(cursor: string | undefined): { at: number; id: number } | undefined {
  if (cursor === undefined) return undefined;
  const m = /^(\d+)\.(\d+)$/.exec(cursor);
  if (!m) throw new ProblemError('INVALID', 'invalid cursor');
  return { at: Number(m[1]), id: Number(m[2]) };
}

const auditResource = (request: FastifyRequest): Resource => {
  const project = query(request).project;
  return project ? { kind: 'project', project } : { kind: 'system' };
};

export const auditRoutes: ApiRoute[] = [
  {
    method: 'GET',
    url: '/audit',
    // With ?project= this is audit.read on that project; without, the whole log (system admins).
    action: 'audit.read',
    resource: auditResource,
    summary: 'Audit events, newest first, filtered by project, user, action and time.',
    body: null,
    query: queryOf({ project: true, user: true, action: true, since: true, until: true, ...LIST_QUERY }),
    response: pageOf(AuditEntry),
    audit: null,
    async handle(request, _reply, s) {
      const q = query(request);
      const limit = parseLimit(q.limit, 100, 1000);
      const rows = await s.audit.query({
        project: q.project || undefined,
        actor: q.user || undefined,
        action: q.action || undefined,
        since: time(q.since, 'since'),
        until: time(q.until, 'until'),
        before: before(decodeCursor<string>(q.cursor, 'string')),
        limit: limit + 1,
      });
      const items = rows.slice(0, limit).map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
      const last = rows[limit - 1];
      return { items, next: rows.length > limit && last ? encodeCursor(`${last.at}.${last.id}`) : null };
    },
  },
];
