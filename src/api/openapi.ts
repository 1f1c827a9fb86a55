/**
 * Builds the OpenAPI 3.1 document of /api/v1 from the route table: paths, path and query
 * parameters, request and response bodies (JSON Schema from the routes' zod schemas), the
 * action each route needs (`x-berth-action`) and the audit event it writes (`x-berth-audit`).
 * The problem codes come from the one problem table. The web UI's client types are generated
 * from this document (scripts/gen-api-types.mjs -> ui/src/api-types.gen.ts).
 */
import { z } from 'zod';
import { PROBLEM_CODES } from '../errors/problem.js';
import type { ApiRoute } from './route.js';

/** `/projects/:name` -> `/projects/{name}` */
export function openApiPath(url: string): string {
  return url.replace(/:([a-zA-Z]+)/g, '{$1}');
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

export function openApiDocument(routes: readonly ApiRoute[], prefix: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = prefix + openApiPath(r.url);
    const pathParams = [...r.url.matchAll(/:([a-zA-Z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const queryParams = Object.keys(r.query?.shape ?? {}).map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } }));
    const status = r.response === null ? '204' : String(r.status ?? 200);
    const op: Record<string, unknown> = {
      summary: r.summary,
      operationId: `${r.method.toLowerCase()}${openApiPath(r.url).replace(/[{}]/g, '').replace(/[/-]+(\w)/g, (_m, c: string) => c.toUpperCase())}`,
      'x-berth-action': r.action,
      'x-berth-audit': r.audit,
      parameters: [...pathParams, ...queryParams],
      responses: {
        [status]: r.response === null ? { description: 'No content' } : { description: 'Success', content: { 'application/json': { schema: jsonSchema(r.response, 'output') } } },
        default: { description: 'Problem', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
    };
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(r.body, 'input') } } };
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  paths[`${prefix}/openapi.json`] = { get: { summary: 'This document.', operationId: 'getOpenapi', 'x-berth-action': 'anyone', 'x-berth-audit': null, parameters: [], responses: { '200': { description: 'OpenAPI 3 document' } } } };
  return {
    openapi: '3.1.0',
    info: { title: 'Berth management API', version: '1' },
    paths,
    components: {
      securitySchemes: {
        basic: { type: 'http', scheme: 'basic' },
        bearer: { type: 'http', scheme: 'bearer', description: 'A registry token (JWT) or a personal access token' },
        session: { type: 'apiKey', in: 'cookie', name: 'berth_session' },
      },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'code'],
          properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, code: { type: 'string', enum: PROBLEM_CODES }, detail: { type: 'string' } },
        },
      },
    },
    security: [{ basic: [] }, { bearer: [] }, { session: [] }],
  };
}
