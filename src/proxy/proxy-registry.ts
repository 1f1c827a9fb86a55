/**
 * The pull-through cache as a decorator of the registry core's services (as Distribution
 * wraps its repository): reads of a proxy project go to PullThrough, writes to one are
 * refused with DENIED, and everything else reaches the core unchanged, after one map lookup
 * of the repository's first segment. Transparent mirroring (`?ns=` from containerd, bare
 * paths for Docker's `registry-mirrors` through `proxy.defaultMirror`) is the `routeRepo`
 * step, asked only for pulls; without `?ns=` and a default mirror it returns at once.
 */
import type { ProxyConfig } from '../config/proxy-schema.js';
import { OciError } from '../errors/oci.js';
import { parseRepoName, type RepoName } from '../domain/names.js';
import type { RegistryServices } from '../registry/services.js';
import type { PullThrough } from './pull-through.js';
import type { UpstreamClient } from './upstream-client.js';

/** Whether a project of this name exists locally (a short-lived cache in front of the store is fine). */
export type LocalProjectCheck = (name: string) => Promise<boolean>;

function refuse(u: UpstreamClient, repo: string): never {
  throw new OciError('DENIED', {
    repository: repo,
    reason: `project ${u.name} is a read-only pull-through cache of ${u.config.url}; push to the upstream, or to a project that is not a cache`,
  });
}

export function proxyRegistry(core: RegistryServices, pull: PullThrough, config: ProxyConfig, mirrorFor: (ns: string) => string | undefined, isLocalProject: LocalProjectCheck): RegistryServices {
  const { manifests, blobs, uploads, listing } = core;
  const writes = <A extends unknown[], R>(fn: (repo: RepoName, ...rest: A) => Promise<R>) =>
    (repo: RepoName, ...rest: A): Promise<R> => {
      const u = pull.upstreamOf(repo);
      if (u) refuse(u, repo);
      return fn(repo, ...rest);
    };

  return {
    ...core,
    listing: {
      tags: (repo, page) => {
        const u = pull.upstreamOf(repo);
        return u ? pull.tags(u, repo, page) : listing.tags(repo, page);
      },
      catalog: listing.catalog.bind(listing),
      referrers: listing.referrers.bind(listing),
      pageSize: listing.pageSize.bind(listing),
    },
    manifests: {
      get: (repo, ref, pulled, reader) => {
        const u = pull.upstreamOf(repo);
        return u ? pull.manifest(u, repo, ref, pulled) : manifests.get(repo, ref, pulled, reader);
      },
      put: writes(manifests.put.bind(manifests)),
      delete: writes(manifests.delete.bind(manifests)),
    },
    blobs: {
      get: (repo, digest) => {
        const u = pull.upstreamOf(repo);
        return u ? pull.blob(u, repo, digest) : blobs.get(repo, digest);
      },
      redirectUrl: blobs.redirectUrl.bind(blobs),
      delete: writes(blobs.delete.bind(blobs)),
      mount: writes(blobs.mount.bind(blobs)),
    },
    uploads: {
      start: writes(uploads.start.bind(uploads)),
      putMonolithic: writes(uploads.putMonolithic.bind(uploads)),
      openBlob: writes(uploads.openBlob.bind(uploads)),
      status: writes(uploads.status.bind(uploads)),
      append: writes(uploads.append.bind(uploads)),
      finish: writes(uploads.finish.bind(uploads)),
      cancel: writes(uploads.cancel.bind(uploads)),
    },
    async routeRepo(repo: RepoName, query: Record<string, string | undefined>): Promise<RepoName> {
      const ns = query.ns;
      if ((ns === undefined && config.defaultMirror === undefined) || pull.upstreamOf(repo)) return repo;
      if (ns !== undefined) {
        const name = mirrorFor(ns);
        return name ? parseRepoName(`${name}/${repo}`) : repo;
      }
      const slash = repo.indexOf('/');
      if (await isLocalProject(slash < 0 ? repo : repo.slice(0, slash))) return repo;
      return parseRepoName(`${config.defaultMirror}/${repo}`);
    },
  };
}
