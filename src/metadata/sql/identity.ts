/**
 * Trust policies and external identities over Kysely (both dialects); see auth-store.ts for
 * their contracts and migrations/0012-identity.ts for the tables.
 */
import type { Kysely, Selectable } from 'kysely';
import { ConflictError } from '../../errors/store.js';
import type { ExternalIdentityQueries, ExternalIdentityRecord, Role, TrustPolicyQueries, TrustPolicyRecord } from '../auth-store.js';
import type { Database } from '../tables.js';
import { isUniqueViolation } from './auth-accounts.js';

function toPolicy(r: Selectable<Database['trust_policies']>): TrustPolicyRecord {
  return {
    id: Number(r.id),
    project: r.project,
    issuer: r.issuer,
    audience: r.audience,
    claims: JSON.parse(r.claims) as Record<string, string>,
    permissions: JSON.parse(r.permissions) as string[],
    createdBy: r.created_by,
    createdAt: Number(r.created_at),
  };
}

export class SqlTrustPolicies implements TrustPolicyQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async list(project: string): Promise<TrustPolicyRecord[]> {
    return (await this.db.selectFrom('trust_policies').selectAll().where('project', '=', project).orderBy('id').execute()).map(toPolicy);
  }

  async byIssuer(issuer: string): Promise<TrustPolicyRecord[]> {
    return (await this.db.selectFrom('trust_policies').selectAll().where('issuer', '=', issuer).orderBy('id').execute()).map(toPolicy);
  }

  async insert(p: Omit<TrustPolicyRecord, 'id'>): Promise<TrustPolicyRecord> {
    const r = await this.db
      .insertInto('trust_policies')
      .values({ project: p.project, issuer: p.issuer, audience: p.audience, claims: JSON.stringify(p.claims), permissions: JSON.stringify(p.permissions), created_by: p.createdBy, created_at: p.createdAt })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { ...p, id: Number(r.id) };
  }

  async delete(project: string, id: number): Promise<boolean> {
    const r = await this.db.deleteFrom('trust_policies').where('project', '=', project).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

function toIdentity(r: Selectable<Database['external_identities']>): ExternalIdentityRecord {
  return { userId: Number(r.user_id), provider: r.provider as 'oidc' | 'ldap', subject: r.subject, granted: JSON.parse(r.granted) as Record<string, Role>, syncedAt: Number(r.synced_at) };
}

export class SqlExternalIdentities implements ExternalIdentityQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async byUser(userId: number): Promise<ExternalIdentityRecord | undefined> {
    const r = await this.db.selectFrom('external_identities').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return r && toIdentity(r);
  }

  async bySubject(provider: 'oidc' | 'ldap', subject: string): Promise<ExternalIdentityRecord | undefined> {
    const r = await this.db.selectFrom('external_identities').selectAll().where('provider', '=', provider).where('subject', '=', subject).executeTakeFirst();
    return r && toIdentity(r);
  }

  async put(r: ExternalIdentityRecord): Promise<void> {
    const row = { provider: r.provider, subject: r.subject, granted: JSON.stringify(r.granted), synced_at: r.syncedAt };
    try {
      await this.db
        .insertInto('external_identities')
        .values({ user_id: r.userId, ...row })
        .onConflict((oc) => oc.column('user_id').doUpdateSet(row))
        .execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError(`${r.provider} subject ${r.subject} belongs to another user`);
      throw e;
    }
  }
}
