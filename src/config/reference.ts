/**
 * The README's configuration reference, generated from the schema: one row per key with its
 * environment variable, type, default and description.
 */
import { configJsonSchema } from './schema.js';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
}

export function configReference(): string {
  const rows: string[] = ['| key | environment | type | default | description |', '| --- | --- | --- | --- | --- |'];
  walk(configJsonSchema() as JsonSchema, [], rows);
  return rows.join('\n');
}

function envName(path: string[]): string {
  return 'BERTH_' + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('__');
}

function typeOf(s: JsonSchema): string {
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  return Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
}

function walk(s: JsonSchema, path: string[], rows: string[]): void {
  const variants = s.oneOf ?? s.anyOf;
  if (variants && path.length > 0) {
    // A backend union: one block of rows per driver.
    for (const v of variants) walk({ ...v, description: v.description ?? s.description }, path, rows);
    return;
  }
  if (s.properties) {
    for (const [key, child] of Object.entries(s.properties)) {
      const p = [...path, key];
      if (child.properties || ((child.oneOf ?? child.anyOf) && !child.enum)) {
        const nested = child.oneOf ?? child.anyOf;
        if (nested && !child.properties) {
          for (const v of nested) walk(v, p, rows);
        } else {
          walk(child, p, rows);
        }
        continue;
      }
      const def = child.default === undefined ? '' : `\`${JSON.stringify(child.default)}\``;
      rows.push(`| \`${p.join('.')}\` | \`${envName(p)}\` | ${typeOf(child)} | ${def} | ${(child.description ?? '').replace(/\|/g, '\\|')} |`);
    }
  }
}
