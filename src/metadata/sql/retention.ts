/**
 * Retention's queries: the snapshot a plan is computed from, moving planned tags and
 * untagged manifests to the trash, and run records (`retention_runs`). The trash entries
 * themselves are read and restored through trash.ts.
 */
import type { Kysely, Selectable } from 'kysely';
import { NotFoundError } from '../../errors/store.js';
import type { RetentionQueries, RetentionRunRecord, RunStatus, TagSnapshot } from '../lifecycle-store.js';
import type { Dialect } from '../migrations/index.js';
import type { Database, RetentionRunsTable } from '../tables.js';
import { inParts } from './parts.js';
import { repositoryId } from './repositories.js';

function toRun(r: Selectable<RetentionRunsTable>): RetentionRunRecord {
  return {
    id: Number(r.id),
    project: r.project,
    trigger: r.trigger,
    dryRun: Number(r.dry_run) === 1,
    status: r.status as RunStatus,
    startedAt: Number(r.started_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
    result: r.result ? JSON.parse(r.result) : null,
    error: r.error,
  };
}

export class SqlRetention implements RetentionQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async snapshot(project: string, now: number): Promise<{ tags: TagSnapshot[]; untagged: { repository: string; digest: string }[] }> {
    const rows = await this.db
      .selectFrom('tags as t')
      .innerJoin('repositories as r', 'r.id', 't.repository_id')
      .innerJoin('manifests as m', 'm.id', 't.manifest_id')
      .select(['r.name as repository', 't.name as tag', 'm.digest', 'm.pushed_at', 'm.last_pulled_at'])
      .where('r.project', '=', project)
      .execute();
    const tags = rows.map((r) => ({
      repository: r.repository,
      tag: r.tag,
      digest: r.digest,
      pushedAt: Number(r.pushed_at),
      pulledAt: r.last_pulled_at === null ? null : Number(r.last_pulled_at),
    }));
    const untagged = await this.db
      .selectFrom('manifests as m')
      .innerJoin('repositories as r', 'r.id', 'm.repository_id')
      .select(['r.name as repository', 'm.digest'])
      .where('r.project', '=', project)
      .where('m.subject_digest', 'is', null)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('tags as t').select('t.name').whereRef('t.manifest_id', '=', 'm.id'))))
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('manifest_children as c').select('c.parent_id').whereRef('c.child_id', '=', 'm.id'))))
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('trash as x').select('x.id').whereRef('x.repository', '=', 'r.name').whereRef('x.digest', '=', 'm.digest').where((eb) => eb.or([eb('x.expires_at', '>', now), eb('x.restored_at', 'is not', null)])))),
      )
      .orderBy('r.name')
      .orderBy('m.digest')
      .execute();
    return { tags, untagged };
  }

  async moveToTrash(run: { runId: number; project: string; now: number; expiresAt: number }, tags: { repository: string; tag: string; digest: string }[], untagged: { repository: string; digest: string }[]): Promise<void> {
    for (const t of tags) {
      const id = await repositoryId(this.db, this.dialect, t.repository);
      if (id === undefined) throw new NotFoundError(`repository ${t.repository}`);
      await this.db.deleteFrom('tags').where('repository_id', '=', id).where('name', '=', t.tag).execute();
    }
    const entries = [...tags.map((t) => ({ ...t })), ...untagged.map((u) => ({ ...u, tag: null }))];
    for (const part of inParts(entries, 500)) {
      await this.db
        .insertInto('trash')
        .values(part.map((e) => ({ run_id: run.runId, project: run.project, repository: e.repository, tag: e.tag, digest: e.digest, removed_at: run.now, expires_at: run.expiresAt, restored_at: null })))
        .execute();
    }
  }

  async insertRun(run: { project: string; trigger: string; dryRun: boolean; startedAt: number }): Promise<number> {
    const row = await this.db
      .insertInto('retention_runs')
      .values({ project: run.project, trigger: run.trigger, dry_run: run.dryRun ? 1 : 0, status: 'running', started_at: run.startedAt, finished_at: null, result: null, error: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async finishRun(id: number, end: { status: 'succeeded' | 'failed'; finishedAt: number; result?: unknown; error?: string }): Promise<void> {
    await this.db
      .updateTable('retention_runs')
      .set({
        status: end.status,
        finished_at: end.finishedAt,
        ...(end.result !== undefined ? { result: JSON.stringify(end.result) } : {}),
        ...(end.error !== undefined ? { error: end.error } : {}),
      })
      .where('id', '=', id)
      .execute();
  }

  async listRuns(filter: { project?: string | undefined; before?: number | undefined; limit: number }): Promise<RetentionRunRecord[]> {
    let q = this.db.selectFrom('retention_runs').selectAll().orderBy('id', 'desc').limit(filter.limit);
    if (filter.project) q = q.where('project', '=', filter.project);
    if (filter.before !== undefined) q = q.where('id', '<', filter.before);
    return (await q.execute()).map(toRun);
  }
}
