/**
 * Loads the configuration: defaults < YAML file < BERTH_* environment < command-line flags.
 * Environment keys are the path in SCREAMING_SNAKE case with `__` between levels
 * (`BERTH_DATA_DIR`, `BERTH_REGISTRY__MAX_MANIFEST_BYTES`); values are read as YAML scalars
 * so numbers and booleans need no quoting. Any problem becomes one `ConfigError` line that
 * names the key.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Tree = Record<string, unknown>;

export interface LoadOptions {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Flag overrides as dotted paths, e.g. `{ listen: '127.0.0.1:5001', dataDir: '/tmp/x' }`. */
  overrides?: Tree;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  let tree: Tree = {};
  if (opts.file) tree = merge(tree, readYaml(opts.file));
  tree = merge(tree, fromEnv(opts.env ?? process.env));
  if (opts.overrides) tree = merge(tree, opts.overrides);
  return parseConfig(tree, opts.file ? `in ${opts.file}` : '');
}

export function parseConfig(tree: unknown, where = ''): Config {
  const r = configSchema.safeParse(tree);
  if (!r.success) throw new ConfigError(describeIssue(r.error.issues[0]!, where));
  return r.data;
}

function describeIssue(issue: z.core.$ZodIssue, where: string): string {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => [...path, k].join('.'));
    return `unknown configuration key ${keys.join(', ')}${where ? ' ' + where : ''}`;
  }
  const key = path.join('.') || '(root)';
  return `invalid configuration key ${key}${where ? ' ' + where : ''}: ${issue.message}`;
}

function readYaml(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read configuration file ${file}: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    // The YAML parser loads only when there is a file to read (it costs memory in every process).
    value = (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);
  } catch (e) {
    throw new ConfigError(`configuration file ${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (value == null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`configuration file ${file} must hold a mapping`);
  return value as Tree;
}

const PREFIX = 'BERTH_';
/** Environment variables with this prefix that are not configuration keys. */
/** `BERTH_TEST_*` variables steer the test suite, not the server. */
const TEST_PREFIX = 'BERTH_TEST_';
// The CLI's own variables: a terminal where `berth login` ran (BERTH_PASSWORD exported, as the
// README's walkthrough does) must still be able to start the server.
const NOT_CONFIG = new Set(['BERTH_ADMIN_PASSWORD', 'BERTH_CONFIG', 'BERTH_PASSWORD', 'BERTH_CURRENT_PASSWORD', 'BERTH_CLI_CONFIG']);

export function fromEnv(env: NodeJS.ProcessEnv): Tree {
  const tree: Tree = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(PREFIX) || NOT_CONFIG.has(name) || name.startsWith(TEST_PREFIX) || raw === undefined) continue;
    const path = name
      .slice(PREFIX.length)
      .split('__')
      .map((part) => part.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
    setPath(tree, path, scalar(raw));
  }
  return tree;
}

/** An environment value read as a YAML scalar (booleans, numbers, quoted strings); anything else stays the raw string. */
export function scalar(raw: string): unknown {
  const s = raw.trim();
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  if (/^[-+]?(\d+|\d+\.\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return Number(s);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.slice(2), 8);
  if (/^"(?:[^"\\]|\\.)*"$/.test(s)) {
    try {
      return JSON.parse(s) as string;
    } catch {
      return raw;
    }
  }
  if (/^'(?:[^']|'')*'$/.test(s)) return s.slice(1, -1).replace(/''/g, "'");
  return raw;
}

export function setPath(tree: Tree, path: string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Tree;
  }
  node[path[path.length - 1]!] = value;
}

function merge(a: Tree, b: Tree): Tree {
  const out: Tree = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      isTree(prev) && isTree(v) ? merge(prev, v) : v;
  }
  return out;
}

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
