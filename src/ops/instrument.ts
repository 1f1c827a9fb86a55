/**
 * Wraps the stores so that every metadata query and every blob-store call that reaches storage
 * runs through `around(name, call)`: metrics time them, tracing makes them spans. The stores
 * carry no instrumentation code; main.ts applies the wrappers it needs (none when metrics and
 * tracing are off for them).
 */
import type { MetadataQueries, MetadataStore } from '../metadata/store.js';
import type { BlobStore } from '../storage/blob-store.js';

/** Runs `call`, the operation named `name` (e.g. `blobs.get`, `transaction`, `storage stat`). */
export type Around = <T>(name: string, call: () => Promise<T>) => Promise<T>;

/** Query groups of MetadataQueries whose calls are instrumented. */
const GROUPS: readonly (keyof MetadataQueries)[] = ['repositories', 'blobs', 'uploads', 'manifests', 'tags', 'settings', 'jobs', 'gc', 'gcSweep', 'fences', 'gcRuns', 'leases', 'lifecycleSettings', 'retention', 'trash', 'usage', 'scrub'];
const STORE_CALLS = new Set(['stat', 'read', 'openCopy', 'redirectUrl', 'delete', 'createUpload', 'writeUpload', 'readUpload', 'commitUpload', 'deleteUpload']);

/** The store with `around` on every query (`<group>.<method>`), `transaction` (its queries too), `ping` and `pendingMigrations`. */
export function instrumentMetadata<S extends MetadataStore>(store: S, around: Around): S {
  const group = <G extends object>(g: G, name: string): G =>
    new Proxy(g, {
      get: (target, prop, receiver) => {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function' || typeof prop !== 'string') return v;
        return (...args: unknown[]) => around(`${name}.${prop}`, () => (v as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      },
    });
  const queries = <Q extends object>(q: Q): Q =>
    new Proxy(q, {
      get: (target, prop, receiver) => {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof prop === 'string' && (GROUPS as readonly string[]).includes(prop) && v && typeof v === 'object') return group(v, prop);
        if (prop === 'transaction' && typeof v === 'function') {
          return (fn: (tx: MetadataQueries) => Promise<unknown>, options?: unknown) =>
            around('transaction', () => (v as (f: typeof fn, o?: unknown) => Promise<unknown>).call(target, (tx) => fn(queries(tx)), options));
        }
        if ((prop === 'ping' || prop === 'pendingMigrations') && typeof v === 'function') return () => around(prop, () => (v as () => Promise<unknown>).call(target));
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  return queries(store);
}

/** The blob store with `around` on every call that reaches storage (`stat`, `read`, ...). */
export function instrumentBlobStore(store: BlobStore, around: Around): BlobStore {
  return new Proxy(store, {
    get: (target, prop, receiver) => {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      if (typeof prop === 'string' && STORE_CALLS.has(prop)) return (...args: unknown[]) => around(prop, () => (v as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      return (v as (...a: unknown[]) => unknown).bind(target);
    },
  });
}
