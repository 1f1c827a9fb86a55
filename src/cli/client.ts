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

/** The saved login, or undefined when there is none (never logged in, or logged out). */
export function savedLogin(): SavedLogin | undefined {
  try {
    const login = JSON.parse(readFileSync(configPath(), 'utf8')) as SavedLogin;
    return login.token ? login : undefined;
  } catch {
    return undefined;
  }
}

export function loadLogin(): SavedLogin {
  const login = savedLogin();
  if (!login) throw new Error('not logged in; run `berth login <host:port>` first');
  return login;
}

/**
 * The server URL from what a user types: `host:port` (as skopeo and docker take it), or a URL.
 * A bare host is reached over https unless it is a loopback address (local registries speak
 * plain HTTP, as the README's walkthrough does).
 */
export function serverUrl(input: string): string {
  const s = input.trim().replace(/\/+$/, '');
  if (/^https?:\/\//i.test(s)) return s;
  const host = s.replace(/^\[|\](?=:|$)/g, '');
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+|::1)(:\d+)?$/i.test(host) || /^\[::1\]/.test(s);
  return `${loopback ? 'http' : 'https'}://${s}`;
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

/** A table column: the field, and optionally its header and how a value is shown. */
export type Column = string | { key: string; header?: string; format?: (v: unknown) => string };

/** `lastUsedAt` -> `LAST USED AT`: headers in words, as docker and kubectl print them. */
export function headerOf(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toUpperCase();
}

function cell(v: unknown): string {
  return v === null || v === undefined ? '-' : Array.isArray(v) ? v.join(',') || '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Prints rows as an aligned table, or JSON with `--json`. */
export function output(rows: Record<string, unknown>[] | Record<string, unknown>, json: boolean, columns?: Column[]): void {
  if (json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  const list = Array.isArray(rows) ? rows : [rows];
  const cols = (columns ?? [...new Set(list.flatMap((r) => Object.keys(r)))]).map((c) => (typeof c === 'string' ? { key: c } : c));
  const show = (c: (typeof cols)[number], r: Record<string, unknown>) => (c.format && r[c.key] !== null && r[c.key] !== undefined ? c.format(r[c.key]) : cell(r[c.key]));
  const headers = cols.map((c) => c.header ?? headerOf(c.key));
  const body = list.map((r) => cols.map((c) => show(c, r)));
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  if (list.length === 0) return void process.stdout.write(line(headers) + '\n');
  process.stdout.write([line(headers), ...body.map(line)].join('\n') + '\n');
}

/** Bytes as KiB/MiB/GiB, one decimal. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}
