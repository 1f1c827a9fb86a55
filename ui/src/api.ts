/**
 * The one way the UI talks to the registry: JSON over /api/v1 with the session cookie, typed by
 * the OpenAPI document. `api.get('/projects/{name}', { params: { name } })` checks the path,
 * its parameters, query and body, and returns the response type, all from ./api-types.gen.ts
 * (generated from the server's route table: `npm run gen:api`). Every non-GET request carries
 * the CSRF token that login / me returned; every failure becomes an ApiError carrying the
 * problem+json code, title and detail so pages can show them as they are.
 */
import type { ApiPaths } from './api-types.gen';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly code?: string,
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
/** The paths that answer `method`. */
export type PathOf<M extends Method> = { [P in keyof ApiPaths]: M extends keyof ApiPaths[P] ? P : never }[keyof ApiPaths];
interface OpShape {
  params: unknown;
  query: unknown;
  body: unknown;
  response: unknown;
}
export type Op<P extends keyof ApiPaths, M extends Method> = ApiPaths[P][M & keyof ApiPaths[P]] extends infer O extends OpShape ? O : never;
/** What `method path` answers. */
export type ResponseOf<P extends keyof ApiPaths, M extends Method = 'get'> = Op<P, M>['response'];
/** The item of a list path's page. */
export type ItemOf<P extends PathOf<'get'>> = ResponseOf<P> extends { items: (infer T)[] } ? T : never;
/** The list paths (those answering `{ items, next }`). */
export type ListPath = { [P in PathOf<'get'>]: ResponseOf<P> extends { items: unknown[]; next: string | null } ? P : never }[PathOf<'get'>];

export interface CallOptions {
  signal?: AbortSignal;
  /** Do not broadcast a 401 (the session probe and the login form handle it themselves). */
  quiet401?: boolean;
}
type NoFields = Record<string, never>;
/** A call's arguments: `params` when the path has some, `body` when the operation takes one. */
export type Args<O extends OpShape> = CallOptions & { query?: O['query'] } & (O['params'] extends NoFields ? { params?: NoFields } : { params: O['params'] }) & (O['body'] extends undefined ? { body?: undefined } : { body: O['body'] });
type ArgList<O extends OpShape> = object extends Args<O> ? [args?: Args<O>] : [args: Args<O>];

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

type QueryValues = Record<string, string | number | null | undefined>;

export function query(params: QueryValues | undefined): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * The URL (under /api/v1) of `path` with its `{param}`s filled in, each one encoded as one path
 * segment (repository names contain slashes but travel as one encoded segment), and the query.
 */
export function apiUrl(path: string, params?: Record<string, string>, q?: QueryValues): string {
  const filled = path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const v = params?.[name];
    if (v === undefined) throw new Error(`${path}: missing path parameter ${name}`);
    return encodeURIComponent(v);
  });
  return filled + query(q);
}

/** Sends one request to `url` (from apiUrl) and returns its JSON body. */
export async function request(method: Method, url: string, opts: CallOptions & { body?: unknown } = {}): Promise<unknown> {
  const m = method.toUpperCase();
  // X-Requested-With asks the server not to answer 401 with a Basic challenge (which would make
  // the browser show its own password dialog instead of our sign-in page).
  const headers: Record<string, string> = { Accept: 'application/json', 'X-Requested-With': 'berth-ui' };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (m !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(`/api/v1${url}`, {
      method: m,
      headers,
      credentials: 'same-origin',
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'Network error', 'The registry could not be reached.');
  }
  if (res.status === 204) return undefined;
  const type = res.headers.get('content-type') ?? '';
  const body: unknown = type.includes('json') ? await res.json().catch(() => null) : null;
  if (!res.ok) {
    const p = (body ?? {}) as { title?: string; detail?: string; code?: string };
    if (res.status === 401 && !opts.quiet401) unauthorizedListeners.forEach((fn) => fn());
    throw new ApiError(res.status, p.title ?? res.statusText ?? `HTTP ${res.status}`, p.detail, p.code);
  }
  return body;
}

function call(method: Method) {
  return (path: string, args: CallOptions & { params?: Record<string, string>; query?: QueryValues; body?: unknown } = {}) =>
    request(method, apiUrl(path, args.params, args.query), args);
}

/** The typed client: one function per method, over the paths that answer it. */
export const api = {
  get: call('get') as <P extends PathOf<'get'>>(path: P, ...args: ArgList<Op<P, 'get'>>) => Promise<ResponseOf<P, 'get'>>,
  post: call('post') as <P extends PathOf<'post'>>(path: P, ...args: ArgList<Op<P, 'post'>>) => Promise<ResponseOf<P, 'post'>>,
  put: call('put') as <P extends PathOf<'put'>>(path: P, ...args: ArgList<Op<P, 'put'>>) => Promise<ResponseOf<P, 'put'>>,
  patch: call('patch') as <P extends PathOf<'patch'>>(path: P, ...args: ArgList<Op<P, 'patch'>>) => Promise<ResponseOf<P, 'patch'>>,
  delete: call('delete') as <P extends PathOf<'delete'>>(path: P, ...args: ArgList<Op<P, 'delete'>>) => Promise<ResponseOf<P, 'delete'>>,
};

// Shapes the pages name, all taken from the generated operations (never copied by hand).
export type Session = ResponseOf<'/auth/login', 'post'>;
export type User = Session['user'];
export type Project = ResponseOf<'/projects/{name}'>;
export type Role = NonNullable<Project['role']>;
export type Member = ItemOf<'/projects/{name}/members'>;
export type Robot = ItemOf<'/projects/{name}/robots'>;
export type RepositorySummary = ItemOf<'/repositories'>;
export type RepositoryInfo = ResponseOf<'/repositories/{repo}'>;
export type Tag = ItemOf<'/repositories/{repo}/tags'>;
export type Platform = Tag['platforms'][number];
export type ManifestDetail = ResponseOf<'/repositories/{repo}/manifests/{digest}'>;
export type Descriptor = ManifestDetail['layers'][number];
export type UserRow = ItemOf<'/users'>;
export type TokenRow = ItemOf<'/users/{name}/tokens'>;
export type AuditEntry = ItemOf<'/audit'>;
