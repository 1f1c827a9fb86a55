/**
 * Data hooks shared by the pages: one GET with loading / error / reload, and a keyset pager that
 * walks `next` cursors forward and remembers earlier cursors to go back, so a repository with
 * 10,000 tags only ever loads one page at a time.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError, query, type Page } from './api';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/** GETs `path` (null: nothing to load) and reloads when it changes. */
export function useApi<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: path !== null });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    if (path === null) return;
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    api<T>(path, { signal: ctl.signal }).then(
      (data) => setState({ data, loading: false }),
      (error: unknown) => {
        if (ctl.signal.aborted) return;
        setState({ error: error instanceof ApiError ? error : new ApiError(0, String(error)), loading: false });
      },
    );
    return () => ctl.abort();
  }, [path, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export interface Pager<T> extends Loaded<Page<T>> {
  page: number;
  hasNext: boolean;
  hasPrev: boolean;
  next: () => void;
  prev: () => void;
}

/**
 * Keyset pagination over `base` (a list path) with extra query `params`; going back re-requests
 * the remembered cursor instead of keeping every page in memory.
 */
export function usePager<T>(base: string | null, params: Record<string, string | number | null | undefined>, limit = 50): Pager<T> {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const key = base === null ? null : base + query(params);
  const lastKey = useRef(key);
  if (lastKey.current !== key) {
    // A new filter starts again at the first page.
    lastKey.current = key;
    if (cursors.length !== 1) setCursors([null]);
  }
  const cursor = cursors[cursors.length - 1];
  const path = base === null ? null : base + query({ ...params, limit, cursor });
  const loaded = useApi<Page<T>>(path);
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
