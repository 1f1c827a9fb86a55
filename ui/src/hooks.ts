/**
 * Data hooks shared by the pages: one GET with loading / error / reload, and a keyset pager that
 * walks `next` cursors forward and remembers earlier cursors to go back, so a repository with
 * 10,000 tags only ever loads one page at a time.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { apiUrl, ApiError, request, type Args, type ItemOf, type ListPath, type Op, type Page, type PathOf, type ResponseOf } from './api';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/** GETs `url` (from apiUrl; null: nothing to load) and reloads when it changes. */
function useUrl<T>(url: string | null): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: url !== null });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    if (url === null) return;
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    request('get', url, { signal: ctl.signal }).then(
      (data) => setState({ data: data as T, loading: false }),
      (error: unknown) => {
        if (ctl.signal.aborted) return;
        setState({ error: error instanceof ApiError ? error : new ApiError(0, String(error)), loading: false });
      },
    );
    return () => ctl.abort();
  }, [url, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

type GetArgs<P extends PathOf<'get'>> = Pick<Args<Op<P, 'get'>>, 'params' | 'query'>;

/** GETs `path` (null: nothing to load) with its params and query; reloads when they change. */
export function useApi<P extends PathOf<'get'>>(path: P | null, ...args: Op<NoInfer<P>, 'get'>['params'] extends Record<string, never> ? [args?: GetArgs<NoInfer<P>>] : [args: GetArgs<NoInfer<P>>]): Loaded<ResponseOf<P>> {
  const a = args[0] as { params?: Record<string, string>; query?: Record<string, string | number | null | undefined> } | undefined;
  return useUrl<ResponseOf<P>>(path === null ? null : apiUrl(path, a?.params, a?.query));
}

export interface Pager<T> extends Loaded<Page<T>> {
  page: number;
  hasNext: boolean;
  hasPrev: boolean;
  next: () => void;
  prev: () => void;
}

/**
 * Keyset pagination over the list `path` (null: nothing to load) with its path `params` and
 * extra query; going back re-requests the remembered cursor instead of keeping every page in
 * memory.
 */
export function usePager<P extends ListPath>(path: P | null, args: GetArgs<NoInfer<P>>, limit = 50): Pager<ItemOf<P>> {
  const a = args as { params?: Record<string, string>; query?: Record<string, string | number | null | undefined> };
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const key = path === null ? null : apiUrl(path, a.params, a.query);
  const lastKey = useRef(key);
  if (lastKey.current !== key) {
    // A new filter starts again at the first page.
    lastKey.current = key;
    if (cursors.length !== 1) setCursors([null]);
  }
  const cursor = cursors[cursors.length - 1];
  const url = path === null ? null : apiUrl(path, a.params, { ...a.query, limit, cursor });
  const loaded = useUrl<Page<ItemOf<P>>>(url);
  const nextCursor = loaded.data?.next ?? null;
  return {
    ...loaded,
    page: cursors.length,
    hasNext: !!nextCursor,
    hasPrev: cursors.length > 1,
    next: () => nextCursor && setCursors((c) => [...c, nextCursor]),
    prev: () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)),
  };
}

/** `value`, settled after `ms` without change (search boxes). */
export function useDebounced<T>(value: T, ms = 250): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Berth` : 'Berth';
  }, [title]);
}
