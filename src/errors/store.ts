/**
 * The few generic errors a store may throw. Stores hold no rules: services catch these and
 * decide what they mean for the caller (usually an OciError).
 *
 * Full storage and an unreachable database are recognised here, once, whatever layer they
 * surface from (a blob write's ENOSPC, SQLite's SQLITE_FULL, a PostgreSQL connection refused
 * or cut by a restart), so the one error handler can answer them with a clear status instead
 * of a bare 500.
 */

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}

/** The storage has no room for the bytes (a full disk or file system quota, an object store quota). */
export class StorageFullError extends Error {
  override readonly name = 'StorageFullError';
  constructor(
    message: string,
    /** The underlying error code (ENOSPC, EDQUOT, SQLITE_FULL, QuotaExceeded, ...). */
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL', 'QuotaExceeded', 'InsufficientStorage', 'InsufficientCapacity']);

/** PostgreSQL SQLSTATE classes and codes that mean "the server is not there right now". */
const PG_UNAVAILABLE = /^(08...|57P01|57P02|57P03|53300)$/;
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** The StorageFullError an error stands for, or undefined. */
export function asStorageFull(e: unknown): StorageFullError | undefined {
  if (e instanceof StorageFullError) return e;
  const err = e as { code?: unknown; name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number } } | null;
  const code = typeof err?.code === 'string' ? err.code : typeof err?.name === 'string' ? err.name : undefined;
  if ((code && FULL_CODES.has(code)) || err?.$metadata?.httpStatusCode === 507) {
    return new StorageFullError(`storage is full: ${String(err?.message ?? code)}`, code ?? 'InsufficientStorage', { cause: e });
  }
  return undefined;
}

/**
 * True when an error says the metadata database (or another backing service) cannot be
 * reached: connection refused or cut, the server shutting down or starting, too many
 * connections, the pg pool's connect timeout, or an UnavailableError thrown by a store.
 */
export function isUnavailable(e: unknown): boolean {
  if (e instanceof UnavailableError) return true;
  const err = e as { code?: unknown; message?: unknown; errors?: unknown[] } | null;
  if (!err) return false;
  if (typeof err.code === 'string' && (NET_UNAVAILABLE.has(err.code) || PG_UNAVAILABLE.test(err.code))) return true;
  // node-postgres reports a lost or timed-out connection only by its message.
  const message = typeof err.message === 'string' ? err.message : '';
  if (/^Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(message)) return true;
  // An AggregateError (connecting to every address of a host failed).
  return Array.isArray(err.errors) && err.errors.length > 0 && err.errors.every(isUnavailable);
}
