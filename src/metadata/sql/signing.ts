/** The signing query group over Kysely (`project_signing`, `signing_keys`), both dialects. */
import type { Kysely } from 'kysely';
import type { Dialect } from '../migrations/index.js';
import type { SigningKeyRecord, SigningQueries } from '../signing-store.js';
import type { Database } from '../tables.js';
import { PreparedQuery } from './prepared.js';

/** A project's signing policy (every manifest push checks it; prepared.ts). */
const POLICY = new PreparedQuery((db: Kysely<Database>, project: string) => db.selectFrom('project_signing').select('policy').where('project', '=', project));

export class SqlSigning implements SigningQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async policy(project: string): Promise<unknown> {
    const row = await POLICY.executeTakeFirst(this.db, this.dialect, project);
    return row ? JSON.parse(row.policy) : undefined;
  }

  async setPolicy(project: string, policy: unknown, now: number): Promise<void> {
    const json = JSON.stringify(policy);
    await this.db
      .insertInto('project_signing')
      .values({ project, policy: json, updated_at: now })
      .onConflict((oc) => oc.column('project').doUpdateSet({ policy: json, updated_at: now }))
      .execute();
  }

  async delete(project: string): Promise<void> {
    await this.db.deleteFrom('project_signing').where('project', '=', project).execute();
    await this.db.deleteFrom('project_signing_keys').where('project', '=', project).execute();
  }

  async keys(project: string): Promise<SigningKeyRecord[]> {
    const rows = await this.db.selectFrom('project_signing_keys').selectAll().where('project', '=', project).orderBy('id', 'desc').execute();
    return rows.map((r) => ({
      id: Number(r.id),
      project: r.project,
      fingerprint: r.fingerprint,
      publicKey: r.public_key,
      sealedPrivateKey: r.private_key,
      createdAt: Number(r.created_at),
      retiredAt: r.retired_at === null ? null : Number(r.retired_at),
    }));
  }

  async rotate(project: string, key: { fingerprint: string; publicKey: string; sealedPrivateKey: string }, now: number): Promise<SigningKeyRecord> {
    await this.db.updateTable('project_signing_keys').set({ retired_at: now }).where('project', '=', project).where('retired_at', 'is', null).execute();
    const row = await this.db
      .insertInto('project_signing_keys')
      .values({ project, fingerprint: key.fingerprint, public_key: key.publicKey, private_key: key.sealedPrivateKey, created_at: now, retired_at: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: Number(row.id), project, ...key, createdAt: now, retiredAt: null };
  }
}
