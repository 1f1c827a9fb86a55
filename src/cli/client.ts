/**
 * The CLI's side of the management API: the saved login (`~/.config/berth/cli.json`, mode
 * 0600, holding the server URL and a personal access token, never a password), one `call`
 * that speaks JSON and turns problem documents into one-line errors, and table output.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface SavedLogin {
  url: string;
  user: string;
  token: string;
}

export function configPath(): string {
  return process.env.BERTH_CLI_CONFIG ?? join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'berth', 'cli.json');
}

export function saveLogin(login: SavedLogin): void {
  const path = configPath();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify(login, null, 2) + '\n', { mode: 0o600 });
}

export function loadLogin(): SavedLogin {
  try {
    return JSON.parse(readFileSync(configPath(), 'utf8')) as SavedLogin;
  } catch {
    throw new Error('not logged in; run `berth login <url>` first');
  }
}

export async function call(method: string, path: string, body?: unknown, login: { url: string; authorization: string } = auth(loadLogin())): Promise<any> {
  const r = await fetch(`${login.url.replace(/\/$/, '')}/api/v1${path}`, {
    method,
    headers: { Authorization: login.authorization, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  const parsed = text ? (JSON.parse(text) as any) : null;
  if (!r.ok) throw new Error(`${r.status} ${parsed?.title ?? ''}: ${parsed?.detail ?? text}`.trim());
  return parsed;
}

/** Every item of an /api/v1 list, following its `next` cursors page by page. */
export async function listAll(path: string, login?: { url: string; authorization: string }): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page: { items: any[]; next: string | null } = await call('GET', `${path}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, undefined, login);
    items.push(...page.items);
    cursor = page.next;
  } while (cursor);
  return items;
}

export function auth(login: SavedLogin): { url: string; authorization: string } {
  return { url: login.url, authorization: `Bearer ${login.token}` };
}

/** Prints rows as an aligned table, or JSON with `--json`. */
export function output(rows: Record<string, unknown>[] | Record<string, unknown>, json: boolean, columns?: string[]): void {
  if (json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  const list = Array.isArray(rows) ? rows : [rows];
  const cols = columns ?? [...new Set(list.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : Array.isArray(v) ? v.join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...list.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  process.stdout.write([line(cols.map((c) => c.toUpperCase())), ...list.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n') + '\n');
}
