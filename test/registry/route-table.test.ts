/**
 * Every /v2 route declares the action it needs, and the permission hook runs before every
 * handler: a refusing authorizer must stop every route before it touches anything.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OciError } from '../../src/errors/oci.js';
import { registryRoutes } from '../../src/registry/routes/index.js';
import { ORDINARY_READER } from '../../src/policy/principal.js';

/** The OCI Distribution endpoints and the action each needs, written out: a route added, lost or re-guarded fails here. */
const EXPECTED = [
  'GET version check: base',
  'HEAD version check: base',
  'GET list repositories: catalog',
  'GET list tags: pull',
  'GET get manifest: pull',
  'HEAD check manifest: pull',
  'PUT push manifest: push',
  'DELETE delete manifest or tag: delete',
  'POST start upload: push',
  'PATCH upload chunk: push',
  'PUT finish upload: push',
  'GET upload status: push',
  'DELETE cancel upload: push',
  'GET get blob: pull',
  'HEAD check blob: pull',
  'DELETE delete blob: delete',
  'GET list referrers: pull',
];

describe('/v2 route table', () => {
  it('holds exactly the spec\'s endpoints, each with the action it needs', () => {
    assert.deepEqual(registryRoutes.map((r) => `${r.method} ${r.name}: ${r.action}`), EXPECTED);
  });

  it('the authorizer runs before every handler', async () => {
    const { createBerth } = await import('../../src/main.js');
    const { parseConfig } = await import('../../src/config/load.js');
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dataDir = await mkdtemp(join(tmpdir(), 'berth-routes-'));
    const seen: string[] = [];
    const berth = await createBerth(parseConfig({ dataDir, logLevel: 'silent' }), undefined, {
      authorize: {
        authorize: async (_req, _reply, action, repo) => {
          seen.push(`${action}:${repo}`);
          throw new OciError('DENIED', { reason: 'test refuses everything' });
        },
        may: async () => false,
        listable: async () => false,
        reader: () => ORDINARY_READER,
      },
    });
    try {
      const digest = 'sha256:' + '0'.repeat(64);
      const requests: [string, string][] = [
        ['GET', '/v2/'],
        ['HEAD', '/v2/'],
        ['GET', '/v2/_catalog'],
        ['GET', '/v2/r/tags/list'],
        ['GET', '/v2/r/manifests/t'],
        ['HEAD', '/v2/r/manifests/t'],
        ['PUT', '/v2/r/manifests/t'],
        ['DELETE', '/v2/r/manifests/t'],
        ['GET', `/v2/r/blobs/${digest}`],
        ['HEAD', `/v2/r/blobs/${digest}`],
        ['DELETE', `/v2/r/blobs/${digest}`],
        ['POST', '/v2/r/blobs/uploads/'],
        ['PATCH', '/v2/r/blobs/uploads/x'],
        ['PUT', '/v2/r/blobs/uploads/x'],
        ['GET', '/v2/r/blobs/uploads/x'],
        ['DELETE', '/v2/r/blobs/uploads/x'],
        ['GET', `/v2/r/referrers/${digest}`],
      ];
      for (const [method, url] of requests) {
        const r = await berth.app.inject({ method: method as 'GET', url });
        assert.equal(r.statusCode, 403, `${method} ${url}`);
      }
      assert.equal(seen.length, requests.length);
      assert.equal(registryRoutes.length, requests.length, 'every route in the table was exercised');
    } finally {
      await berth.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
