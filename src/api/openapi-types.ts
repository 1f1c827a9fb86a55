/**
 * Renders the OpenAPI document of /api/v1 as TypeScript types for the web UI's client
 * (ui/src/api-types.gen.ts): one `ApiPaths` map from path template and method to the path
 * parameters, query, body and response of that operation. Only the JSON Schema our zod
 * schemas produce is understood (objects, arrays, unions, enums, consts, nullable types).
 * scripts/gen-api-types.mjs writes the file; a test fails when the committed one is stale.
 */

type Schema = Record<string, any>;

function key(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);
}

function pad(depth: number): string {
  return '  '.repeat(depth);
}

export function schemaToTs(s: Schema | undefined, depth = 0): string {
  if (!s || Object.keys(s).filter((k) => k !== 'description' && k !== 'default').length === 0) return 'unknown';
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return s.enum.map((v: unknown) => JSON.stringify(v)).join(' | ');
  const union = s.anyOf ?? s.oneOf;
  if (Array.isArray(union)) return union.map((x: Schema) => wrap(schemaToTs(x, depth))).join(' | ');
  if (Array.isArray(s.type)) return s.type.map((t: string) => schemaToTs({ ...s, type: t }, depth)).join(' | ');
  switch (s.type) {
    case 'string':
      return 'string';
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array':
      return `${wrap(schemaToTs(s.items, depth))}[]`;
    case 'object': {
      const props = Object.entries((s.properties ?? {}) as Record<string, Schema>);
      const required = new Set<string>(s.required ?? []);
      const extra = s.additionalProperties;
      if (props.length === 0) return extra === false ? 'Record<string, never>' : `Record<string, ${extra && typeof extra === 'object' ? schemaToTs(extra, depth) : 'unknown'}>`;
      const lines = props.map(([name, p]) => `${pad(depth + 1)}${key(name)}${required.has(name) ? '' : '?'}: ${schemaToTs(p, depth + 1)};`);
      return `{\n${lines.join('\n')}\n${pad(depth)}}`;
    }
    default:
      return 'unknown';
  }
}

function wrap(t: string): string {
  return t.includes(' | ') && !t.startsWith('{') ? `(${t})` : t;
}

interface Operation {
  parameters?: { name: string; in: 'path' | 'query' }[];
  requestBody?: { content: { 'application/json': { schema: Schema } } };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}

function fields(names: string[], type: string, optional: boolean): string {
  return names.length === 0 ? 'Record<string, never>' : `{ ${names.map((n) => `${key(n)}${optional ? '?' : ''}: ${type}`).join('; ')} }`;
}

/** The TypeScript source of ui/src/api-types.gen.ts for `doc` (paths relative to `prefix`). */
export function renderApiTypes(doc: { paths: Record<string, Record<string, Operation>> }, prefix: string): string {
  const out: string[] = [
    '/**',
    ' * The /api/v1 operations, generated from the OpenAPI document (src/api/openapi.ts, built',
    ' * from the route table) by scripts/gen-api-types.mjs. Do not edit: run `npm run gen:api`.',
    ' */',
    '/* eslint-disable */',
    '',
    'export interface ApiPaths {',
  ];
  for (const [fullPath, ops] of Object.entries(doc.paths)) {
    if (!fullPath.startsWith(prefix) || fullPath === `${prefix}/openapi.json`) continue;
    out.push(`  ${JSON.stringify(fullPath.slice(prefix.length))}: {`);
    for (const [method, op] of Object.entries(ops)) {
      const params = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      const query = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      const body = op.requestBody ? schemaToTs(op.requestBody.content['application/json'].schema, 3) : 'undefined';
      const ok = Object.entries(op.responses).find(([status]) => /^2/.test(status));
      const schema = ok?.[1].content?.['application/json']?.schema;
      const response = ok?.[0] === '204' ? 'undefined' : schemaToTs(schema, 3);
      out.push(`    ${method}: {`);
      out.push(`      params: ${fields(params, 'string', false)};`);
      out.push(`      query: ${fields(query, 'string | number | null', true)};`);
      out.push(`      body: ${body};`);
      out.push(`      response: ${response};`);
      out.push('    };');
    }
    out.push('  };');
  }
  out.push('}', '');
  return out.join('\n');
}
