/**
 * `/v2/<name>/blobs/uploads/`: POST (start, monolithic, mount), and
 * `/v2/<name>/blobs/uploads/<id>`: PATCH, PUT, GET (status), DELETE (cancel).
 */
import type { FastifyRequest } from 'fastify';
import { OciError } from '../../errors/oci.js';
import { ANONYMOUS, principalName } from '../../policy/principal.js';
import { checkDigest, isRepoName, parseDigest, type RepoName } from '../../domain/names.js';
import { rangeError, rangeHeader, type ChunkRange } from '../upload-errors.js';
import type { RegistryRoute, RouteContext } from './route.js';
import { bodyStream, chunkRange, contentLength, hasBody, sendEmpty } from './respond.js';

const START = /^(.+)\/blobs\/uploads\/?$/;
const SESSION = /^(.+)\/blobs\/uploads\/([^/]+)$/;

/** Whose a new session is, for the per-principal cap: anonymous callers count per address. */
function uploader(request: FastifyRequest): string {
  const p = request.principal ?? ANONYMOUS;
  return p.kind === 'anonymous' ? `anonymous@${request.ip}` : `${p.kind}:${principalName(p)}`;
}

function sessionHeaders(repo: RepoName, id: string, offset: number): Record<string, string> {
  return {
    Location: `/v2/${repo}/blobs/uploads/${id}`,
    Range: rangeHeader(offset),
    'Docker-Upload-UUID': id,
    'Blob-Upload-Session-ID': id,
  };
}

function blobCreated(repo: RepoName, digest: string): Record<string, string> {
  return { Location: `/v2/${repo}/blobs/${digest}`, 'Docker-Content-Digest': digest };
}

/** The chunk range the client sent; an unreadable one is a 416 that says where the upload stands. */
async function readChunkRange({ request, repo, param, services }: RouteContext): Promise<ChunkRange | undefined> {
  const range = chunkRange(request);
  if (typeof range !== 'string') return range;
  throw rangeError(param, (await services.uploads.status(repo, param)).offset, range);
}

async function startUpload({ request, reply, repo, query, services, may }: RouteContext): Promise<void> {
  if (query.digest !== undefined) {
    const digest = parseDigest(query.digest);
    await services.uploads.putMonolithic(repo, digest, bodyStream(request, services.limits.uploadIdleMs), contentLength(request));
    return sendEmpty(reply, 201, blobCreated(repo, digest));
  }
  if (query.mount !== undefined) {
    // The spec falls back to an ordinary upload when the mount arguments do not work out,
    // including when the caller may not read the source repository.
    const mount = checkDigest(query.mount);
    const from = query.from;
    if ('digest' in mount && from !== undefined && isRepoName(from) && (await may('pull', from)) && (await services.blobs.mount(repo, mount.digest, from as RepoName))) {
      return sendEmpty(reply, 201, blobCreated(repo, mount.digest));
    }
  }
  const upload = await services.uploads.start(repo, uploader(request));
  sendEmpty(reply, 202, sessionHeaders(repo, upload.id, upload.offset));
}

export const uploadRoutes: RegistryRoute[] = [
  { method: 'POST', path: START, action: 'push', name: 'start upload', handle: startUpload },
  {
    method: 'PATCH',
    path: SESSION,
    action: 'push',
    name: 'upload chunk',
    async handle(ctx) {
      const { request, reply, repo, param, services } = ctx;
      const range = await readChunkRange(ctx);
      const status = await services.uploads.append(repo, param, bodyStream(request, services.limits.uploadIdleMs), range, contentLength(request));
      sendEmpty(reply, 202, sessionHeaders(repo, status.id, status.offset));
    },
  },
  {
    method: 'PUT',
    path: SESSION,
    action: 'push',
    name: 'finish upload',
    async handle(ctx) {
      const { request, reply, repo, param, query, services } = ctx;
      if (query.digest === undefined) throw new OciError('DIGEST_INVALID', { reason: 'the digest query parameter is required to finish an upload' });
      const digest = parseDigest(query.digest);
      const range = await readChunkRange(ctx);
      const body = hasBody(request) ? bodyStream(request, services.limits.uploadIdleMs) : undefined;
      await services.uploads.finish(repo, param, digest, body, range, body ? contentLength(request) : undefined);
      sendEmpty(reply, 201, blobCreated(repo, digest));
    },
  },
  {
    method: 'GET',
    path: SESSION,
    action: 'push',
    name: 'upload status',
    async handle({ reply, repo, param, services }) {
      const status = await services.uploads.status(repo, param);
      sendEmpty(reply, 204, sessionHeaders(repo, status.id, status.offset));
    },
  },
  {
    method: 'DELETE',
    path: SESSION,
    action: 'push',
    name: 'cancel upload',
    async handle({ reply, repo, param, services }) {
      await services.uploads.cancel(repo, param);
      sendEmpty(reply, 204);
    },
  },
];
