/**
 * OCI Distribution error codes: each code declared once with its message and HTTP status.
 * Services throw `OciError(code, detail)`; the one error handler (http/error-handler.ts)
 * turns it into `{"errors":[{code,message,detail}]}` on /v2 and a problem document on /api.
 */

export const OCI_ERRORS = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 404, message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 415, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  // Codes below are not in the OCI list but are used by CNCF Distribution for the same cases.
  RANGE_INVALID: { status: 416, message: 'invalid content range' },
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested' },
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI' },
  CONFLICT: { status: 409, message: 'the request conflicts with the current state' },
  UNAVAILABLE: { status: 503, message: 'service unavailable' },
  // Not a Distribution code: clients print the message of a code they do not know, so it
  // names the cause.
  INSUFFICIENT_STORAGE: { status: 507, message: 'insufficient storage: the registry storage is full' },
  UNKNOWN: { status: 500, message: 'unknown error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type OciErrorCode = keyof typeof OCI_ERRORS;

/** Seconds a client is asked to wait (Retry-After) when the metadata database is unreachable. */
export const UNAVAILABLE_RETRY_SECONDS = 5;

/** The metadata database (or another backing service) cannot be reached right now. */
export function databaseUnavailable(): OciError {
  return new OciError(
    'UNAVAILABLE',
    { reason: 'the registry database is unreachable; retry later' },
    { message: 'service unavailable: the registry database is unreachable; retry later', headers: { 'Retry-After': String(UNAVAILABLE_RETRY_SECONDS) } },
  );
}

/** The blob store or the database has no room left. */
export function storageFull(cause: string): OciError {
  return new OciError('INSUFFICIENT_STORAGE', { reason: `the registry storage is full (${cause}); free space or raise the quota, then push again` });
}

export class OciError extends Error {
  readonly code: OciErrorCode;
  readonly detail: unknown;
  /** Extra response headers (e.g. `Range` on a 416, `WWW-Authenticate` on a 401). */
  readonly headers: Record<string, string>;
  /** Overrides the table's status where the spec asks for another one for the same code. */
  readonly statusOverride: number | undefined;
  /** Replaces the table's message in the response (clients print it), e.g. to name a cause. */
  readonly messageOverride: string | undefined;

  constructor(code: OciErrorCode, detail?: unknown, opts: { headers?: Record<string, string>; status?: number; message?: string } = {}) {
    super(opts.message ?? (typeof detail === 'string' ? detail : OCI_ERRORS[code].message));
    this.code = code;
    this.detail = detail ?? null;
    this.headers = opts.headers ?? {};
    this.statusOverride = opts.status;
    this.messageOverride = opts.message;
  }

  get status(): number {
    return this.statusOverride ?? OCI_ERRORS[this.code].status;
  }

  /**
   * A refusal's `message` is its reason (clients print `message`, as `denied: <message>`): a
   * user told only "requested access to the resource is denied" cannot tell a missing project
   * from a missing permission. Other codes keep the table's message; `detail` is unchanged.
   */
  toJSON(): { code: OciErrorCode; message: string; detail: unknown } {
    const reason = (this.detail as { reason?: unknown } | null)?.reason;
    const explained = (this.code === 'DENIED' || this.code === 'UNAUTHORIZED' || this.code === 'TOOMANYREQUESTS') && typeof reason === 'string' && reason !== '';
    return { code: this.code, message: explained ? reason : (this.messageOverride ?? OCI_ERRORS[this.code].message), detail: this.detail };
  }
}

/**
 * The error that ends a request whose body stalled (bodyStream, src/registry/routes/respond.ts).
 * The error handler answers it at once, without waiting for the rest of the body, and then
 * closes the connection.
 */
export class StalledBodyError extends OciError {
  constructor(idleMs: number) {
    super('BLOB_UPLOAD_INVALID', { reason: `no request body bytes for ${idleMs / 1000} s; the upload stays at its last durable offset` }, { status: 408 });
  }
}
