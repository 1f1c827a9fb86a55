/**
 * Tag immutability: per-project rules (repository and tag patterns). Inside the transaction
 * that moves or deletes a tag, a tag that already exists and matches a rule may not be
 * re-pointed at another manifest, deleted, or deleted with its manifest; the refusal is DENIED
 * and names the rule. Pushing a new matching tag is allowed, and so is re-pushing the exact
 * manifest a matching tag already points at (an idempotent retry that changes nothing).
 */
import type { Kysely } from 'kysely';
import { OciError } from '../errors/oci.js';
import type { Database } from '../metadata/tables.js';
import { projectOf, type Digest, type RepoName } from '../registry/names.js';
import { matchesAny, pathInProject, type LifecycleSettings } from '../lifecycle/settings.js';

export class ImmutabilityPolicy {
  constructor(private readonly settings: LifecycleSettings) {}

  /** The first rule that makes `tag` of `repo` immutable, if any. */
  async ruleFor(db: Kysely<Database>, repo: string, tag: string): Promise<{ name: string; tags: string[] } | undefined> {
    const rules = (await this.settings.get(db, projectOf(repo as RepoName))).immutability?.rules ?? [];
    const path = pathInProject(repo);
    return rules.find((r) => matchesAny(r.repositories, path) && matchesAny(r.tags, tag));
  }

  private async current(db: Kysely<Database>, repo: string, tag: string): Promise<string | undefined> {
    const row = await db
      .selectFrom('tags as t')
      .innerJoin('repositories as r', 'r.id', 't.repository_id')
      .innerJoin('manifests as m', 'm.id', 't.manifest_id')
      .select('m.digest')
      .where('r.name', '=', repo)
      .where('t.name', '=', tag)
      .executeTakeFirst();
    return row?.digest;
  }

  async checkTagWrite(db: Kysely<Database>, repo: RepoName, tag: string, digest: Digest): Promise<void> {
    const rule = await this.ruleFor(db, repo, tag);
    if (!rule) return;
    const existing = await this.current(db, repo, tag);
    if (existing !== undefined && existing !== digest) throw denied(repo, tag, rule, 'overwritten');
  }

  async checkTagDelete(db: Kysely<Database>, repo: RepoName, tag: string): Promise<void> {
    const rule = await this.ruleFor(db, repo, tag);
    if (rule && (await this.current(db, repo, tag)) !== undefined) throw denied(repo, tag, rule, 'deleted');
  }

  async checkManifestDelete(db: Kysely<Database>, repo: RepoName, digest: Digest): Promise<void> {
    const tags = await db
      .selectFrom('tags as t')
      .innerJoin('repositories as r', 'r.id', 't.repository_id')
      .innerJoin('manifests as m', 'm.id', 't.manifest_id')
      .select('t.name')
      .where('r.name', '=', repo)
      .where('m.digest', '=', digest)
      .execute();
    for (const t of tags) {
      const rule = await this.ruleFor(db, repo, t.name);
      if (rule) throw denied(repo, t.name, rule, 'deleted (with its manifest)');
    }
  }
}

function denied(repo: string, tag: string, rule: { name: string; tags: string[] }, verb: string): OciError {
  return new OciError('DENIED', {
    repository: repo,
    tag,
    rule: rule.name,
    reason: `tag ${tag} of ${repo} is immutable (rule "${rule.name}": ${rule.tags.join(', ')}) and cannot be ${verb}`,
  });
}
