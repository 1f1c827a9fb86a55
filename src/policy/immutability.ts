/**
 * Tag immutability: per-project rules (repository and tag patterns). Inside the transaction
 * that moves or deletes a tag, a tag that already exists and matches a rule may not be
 * re-pointed at another manifest, deleted, or deleted with its manifest; the refusal is DENIED
 * and names the rule. Pushing a new matching tag is allowed, and so is re-pushing the exact
 * manifest a matching tag already points at (an idempotent retry that changes nothing).
 */
import { OciError } from '../errors/oci.js';
import type { MetadataQueries } from '../metadata/store.js';
import { projectOf, type Digest, type RepoName } from '../domain/names.js';
import { matchesAny, pathInProject, type LifecycleSettings } from '../lifecycle/settings.js';

export class ImmutabilityPolicy {
  constructor(private readonly settings: LifecycleSettings) {}

  /** The first rule that makes `tag` of `repo` immutable, if any. */
  async ruleFor(q: MetadataQueries, repo: string, tag: string): Promise<{ name: string; tags: string[] } | undefined> {
    const rules = (await this.settings.get(projectOf(repo as RepoName), q)).immutability?.rules ?? [];
    const path = pathInProject(repo);
    return rules.find((r) => matchesAny(r.repositories, path) && matchesAny(r.tags, tag));
  }

  async checkTagWrite(q: MetadataQueries, repo: RepoName, tag: string, digest: Digest): Promise<void> {
    const rule = await this.ruleFor(q, repo, tag);
    if (!rule) return;
    const existing = await q.tags.digestOf(repo, tag);
    if (existing !== undefined && existing !== digest) throw denied(repo, tag, rule, 'overwritten');
  }

  async checkTagDelete(q: MetadataQueries, repo: RepoName, tag: string): Promise<void> {
    const rule = await this.ruleFor(q, repo, tag);
    if (rule && (await q.tags.digestOf(repo, tag)) !== undefined) throw denied(repo, tag, rule, 'deleted');
  }

  async checkManifestDelete(q: MetadataQueries, repo: RepoName, digest: Digest): Promise<void> {
    for (const tag of await q.tags.pointingAt(repo, digest)) {
      const rule = await this.ruleFor(q, repo, tag);
      if (rule) throw denied(repo, tag, rule, 'deleted (with its manifest)');
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
