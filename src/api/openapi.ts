/** Builds the OpenAPI 3 document of /api/v1 from the route table (paths, bodies, actions). */
import { z } from 'zod';
import type { ApiRoute } from './route.js';

export function openApiDocument(routes: readonly ApiRoute[], prefix: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = prefix + r.url.replace(/:([a-zA-Z]+)/g, '{$1}');
    const pathParams = [...r.url.matchAll(/:([a-zA-Z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const queryParams = (r.query ?? []).map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } }));
    const op: Record<string, unknown> = {
      summary: r.summary,
      'x-berth-action': r.action,
      parameters: [...pathParams, ...queryParams],
      responses: {
        '2XX': { description: 'Success', content: { 'application/json': {} } },
        default: { description: 'Problem', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
    };
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: z.toJSONSchema(r.body, { io: 'input', unrepresentable: 'any' }) } } };
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  paths[`${prefix}/openapi.json`] = { get: { summary: 'This document.', 'x-berth-action': 'anyone', responses: { '200': { description: 'OpenAPI 3 document' } } } };
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
        Problem: { type: 'object', properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' } } },
      },
    },
    security: [{ basic: [] }, { bearer: [] }, { session: [] }],
  };
}
