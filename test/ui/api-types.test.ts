/**
 * The web UI's API client types (ui/src/api-types.gen.ts) are generated from the OpenAPI
 * document of the /api/v1 route table; this fails when the committed file is stale (a route,
 * schema or parameter changed without `npm run gen:api`).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { API_PREFIX, apiRoutes } from '../../src/api/plugin.js';
import { openApiDocument, openApiPath } from '../../src/api/openapi.js';
import { renderApiTypes } from '../../src/api/openapi-types.js';

test('ui/src/api-types.gen.ts matches the OpenAPI document (run `npm run gen:api`)', () => {
  const committed = readFileSync(new URL('../../../ui/src/api-types.gen.ts', import.meta.url), 'utf8');
  const fresh = renderApiTypes(openApiDocument(apiRoutes, API_PREFIX) as never, API_PREFIX);
  assert.equal(committed, fresh, 'ui/src/api-types.gen.ts is stale: run `npm run gen:api` and commit it');
  for (const r of apiRoutes) assert.ok(committed.includes(`${JSON.stringify(openApiPath(r.url))}: {`), `${r.method} ${r.url} typed`);
});
