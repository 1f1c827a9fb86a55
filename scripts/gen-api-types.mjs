// Writes ui/src/api-types.gen.ts from the OpenAPI document of /api/v1 (run after `tsc -p .`).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { API_PREFIX, apiRoutes } from '../dist/src/api/plugin.js';
import { openApiDocument } from '../dist/src/api/openapi.js';
import { renderApiTypes } from '../dist/src/api/openapi-types.js';

const target = fileURLToPath(new URL('../ui/src/api-types.gen.ts', import.meta.url));
writeFileSync(target, renderApiTypes(openApiDocument(apiRoutes, API_PREFIX), API_PREFIX));
process.stdout.write(`wrote ${target}\n`);
