/**
 * The one way the UI talks to the registry: JSON over /api/v1 with the session cookie. Every
 * non-GET request carries the CSRF token that login / me returned; every failure becomes an
 * ApiError carrying the problem+json title and detail so pages can show them as they are.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

let csrfToken: string | null = null;
const unauthorizedListeners = new Set<() => void>();

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when a request answers 401, so the shell can drop the session and offer sign-in. */
export function onUnauthorized(fn: () => void): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
  /** Do not broadcast a 401 (the session probe and the login form handle it themselves). */
  quiet401?: boolean;
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const method = opts.method ?? 'GET';
  // X-Requested-With asks the server not to answer 401 with a Basic challenge (which would make
  // the browser show its own password dialog instead of our sign-in page).
  const headers: Record<string, string> = { Accept: 'application/json', 'X-Requested-With': 'berth-ui' };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'Network error', 'The registry could not be reached.');
  }
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  const body: unknown = type.includes('json') ? await res.json().catch(() => null) : null;
  if (!res.ok) {
    const p = (body ?? {}) as { title?: string; detail?: string };
    if (res.status === 401 && !opts.quiet401) unauthorizedListeners.forEach((fn) => fn());
    throw new ApiError(res.status, p.title ?? res.statusText ?? `HTTP ${res.status}`, p.detail);
  }
  return body as T;
}

/** A path segment: repository names contain slashes but travel as one encoded segment. */
export const seg = encodeURIComponent;

export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

// Shapes from the management API contract.
export interface User {
  name: string;
  admin: boolean;
}
export interface Session {
  /** null: not signed in (GET /auth/me answers 200 either way). */
  user: User | null;
  csrfToken: string | null;
}
export type Role = 'admin' | 'maintainer' | 'developer' | 'guest';
export interface Project {
  name: string;
  public: boolean;
  repositoryCount: number;
  storageBytes: number;
  quotaBytes: number | null;
  role: Role | null;
  createdAt: string;
}
export interface Member {
  user: string;
  role: Role;
}
export interface Robot {
  name: string;
  permissions: string[];
  expiresAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}
export interface RepositorySummary {
  name: string;
  project: string;
  tagCount: number;
  manifestCount: number;
  sizeBytes: number;
  pushedAt: string | null;
  pulledAt: string | null;
}
export interface RepositoryInfo {
  name: string;
  project: string;
  tagCount: number;
  sizeBytes: number;
  permissions: string[];
}
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}
export interface Tag {
  name: string;
  digest: string;
  mediaType: string;
  size: number;
  platforms: Platform[];
  pushedAt: string | null;
  pulledAt: string | null;
}
export interface Descriptor {
  digest: string;
  mediaType: string;
  size: number;
}
export interface ManifestDetail {
  digest: string;
  mediaType: string;
  artifactType: string | null;
  /** The manifest document's own bytes. */
  size: number;
  /** The image: manifest, config and layers (an index: every platform), each blob once. */
  totalSize: number;
  tags: string[];
  manifest: Record<string, unknown>;
  config: Record<string, unknown> | null;
  layers: Descriptor[];
  children: (Descriptor & { platform?: Platform | null })[];
  referrers: (Descriptor & { artifactType: string | null; annotations?: Record<string, string> | null })[];
}
export interface UserRow {
  name: string;
  admin: boolean;
  disabled: boolean;
  createdAt: string;
}
export interface TokenRow {
  id: string;
  name: string;
  scopes: string[] | null;
  expiresAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}
export interface AuditEntry {
  id: string | number;
  at: string;
  actor: string | null;
  action: string;
  resource: string | null;
  project: string | null;
  result: 'success' | 'failure';
  sourceAddress: string | null;
  detail: unknown;
}
