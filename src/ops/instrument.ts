/**
 * Wraps the stores so that every metadata query and every blob-store call that reaches storage
 * runs through `around(name)`: metrics time them, tracing makes them spans. The stores
 * carry no instrumentation code; main.ts applies the wrappers it needs (none when metrics and
 * tracing are off for them).
 */
import type { MetadataQueries, MetadataStore } from '../metadata/store.js';
import type { BlobStore } from '../storage/blob-store.js';

/**
 * For the operation named `name` (e.g. `blobs.get`, `transaction`, `stat`): the function that
 * runs each call of it. It is asked for once per name, so what a name needs (a metric's series,
 * a span's attributes) is found once, not on every query.
 */
export type Around = (name: string) => <T>(call: () => Promise<T>) => Promise<T>;
type Timer = ReturnType<Around>;

/** Query groups of MetadataQueries whose calls are instrumented. */
const GROUPS: readonly (keyof MetadataQueries)[] = ['repositories', 'blobs', 'uploads', 'manifests', 'tags', 'settings', 'jobs', 'gc', 'gcSweep', 'fences', 'gcRuns', 'leases', 'lifecycleSettings', 'retention', 'trash', 'usage', 'scrub'];
const STORE_CALLS = new Set(['stat', 'read', 'openCopy', 'redirectUrl', 'delete', 'createUpload', 'writeUpload', 'readUpload', 'commitUpload', 'deleteUpload']);

/** `around(name)` for each name, asked once. */
function timers(around: Around): (name: string) => Timer {
  const made = new Map<string, Timer>();
  return (name) => {
    let timer = made.get(name);
    if (!timer) made.set(name, (timer = around(name)));
    return timer;
  };
}

/**
 * A proxy of `target` whose properties are answered by `wrap` once each and then from a cache:
 * the request path reads `meta.blobs.get` on every call, and nothing should be built per read.
 * Only for objects whose methods do not change after creation (the stores and their groups).
 */
function cachingProxy<T extends object>(target: T, wrap: (value: unknown, prop: string | symbol) => unknown): T {
  const cache = new Map<string | symbol, unknown>();
  return new Proxy(target, {
    get: (t, prop, receiver) => {
      if (cache.has(prop)) return cache.get(prop);
      const v = Reflect.get(t, prop, receiver) as unknown;
      // Plain values may change (a store's state); only what is built from methods and groups is kept.
      const wrapped = wrap(v, prop);
      if (wrapped !== v || typeof v === 'function') cache.set(prop, wrapped);
      return wrapped;
    },
  });
}

/** The store with `around` on every query (`<group>.<method>`), `transaction` (its queries too), `ping` and `pendingMigrations`. */
export function instrumentMetadata<S extends MetadataStore>(store: S, around: Around): S {
  const timer = timers(around);
  const group = <G extends object>(g: G, name: string): G =>
    cachingProxy(g, (v, prop) => {
      if (typeof v !== 'function' || typeof prop !== 'string') return v;
      const time = timer(`${name}.${prop}`);
      return (...args: unknown[]) => time(() => (v as (...a: unknown[]) => Promise<unknown>).apply(g, args));
    });
  const transaction = timer('transaction');
  const queries = <Q extends object>(q: Q): Q =>
    cachingProxy(q, (v, prop) => {
      if (typeof prop === 'string' && (GROUPS as readonly string[]).includes(prop) && v && typeof v === 'object') return group(v, prop);
      if (typeof v !== 'function') return v;
      if (prop === 'transaction') {
        return (fn: (tx: MetadataQueries) => Promise<unknown>, options?: unknown) =>
          transaction(() => (v as (f: typeof fn, o?: unknown) => Promise<unknown>).call(q, (tx) => fn(queries(tx)), options));
      }
      if (prop === 'ping' || prop === 'pendingMigrations') {
        const time = timer(prop);
        return () => time(() => (v as () => Promise<unknown>).call(q));
      }
      return (v as (...a: unknown[]) => unknown).bind(q);
    });
  return queries(store);
}

/** The blob store with `around` on every call that reaches storage (`stat`, `read`, ...). */
export function instrumentBlobStore(store: BlobStore, around: Around): BlobStore {
  const timer = timers(around);
  return cachingProxy(store, (v, prop) => {
    if (typeof v !== 'function') return v;
    if (typeof prop === 'string' && STORE_CALLS.has(prop)) {
      const time = timer(prop);
      return (...args: unknown[]) => time(() => (v as (...a: unknown[]) => Promise<unknown>).apply(store, args));
    }
    return (v as (...a: unknown[]) => unknown).bind(store);
  });
}
