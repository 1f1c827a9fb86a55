/** `/v2/<name>/manifests/<reference>`: GET, HEAD, PUT, DELETE. */
import type { ManifestRecord } from '../../metadata/store.js';
import { parseExistingReference, parseReference } from '../../domain/names.js';
import type { RegistryRoute, RouteContext } from './route.js';
import { readBody, sendEmpty } from './respond.js';
import type { ServedHeaders } from '../services.js';

const PATH = /^(.+)\/manifests\/([^/]+)$/;

function manifestHeaders(m: ManifestRecord): Record<string, string> {
  return {
    // Lowercase names: see V2_HEADERS.
    'content-type': m.mediaType,
    'content-length': String(m.size),
    'docker-content-digest': m.digest,
    etag: `"${m.digest}"`,
  };
}

async function fetchManifest({ request, reply, repo, param, services, reader }: RouteContext): Promise<void> {
  const head = request.method === 'HEAD';
  const m = await services.manifests.get(repo, parseExistingReference(param), !head, reader());
  reply.code(200).headers(manifestHeaders(m));
  const extra = (m as ServedHeaders).headers;
  if (extra) reply.headers(extra);
  reply.send(head ? undefined : m.content);
}

export const manifestRoutes: RegistryRoute[] = [
  { method: 'GET', path: PATH, action: 'pull', name: 'get manifest', handle: fetchManifest },
  { method: 'HEAD', path: PATH, action: 'pull', name: 'check manifest', handle: fetchManifest },
  {
    method: 'PUT',
    path: PATH,
    action: 'push',
    name: 'push manifest',
    async handle({ request, reply, repo, param, services }) {
      const ref = parseReference(param);
      const body = await readBody(request, services.limits.maxManifestBytes);
      const pushed = await services.manifests.put(repo, ref, body, request.headers['content-type']);
      const headers: Record<string, string> = {
        Location: `/v2/${repo}/manifests/${pushed.digest}`,
        'Docker-Content-Digest': pushed.digest,
      };
      if (pushed.subject) headers['OCI-Subject'] = pushed.subject;
      sendEmpty(reply, 201, headers);
    },
  },
  {
    method: 'DELETE',
    path: PATH,
    action: 'delete',
    name: 'delete manifest or tag',
    async handle({ reply, repo, param, services }) {
      await services.manifests.delete(repo, parseExistingReference(param));
      sendEmpty(reply, 202);
    },
  },
];
