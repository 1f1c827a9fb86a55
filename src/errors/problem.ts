/**
 * RFC 9457 problem documents for the management API (`application/problem+json`).
 *
 * Every problem the API can answer is declared once in PROBLEMS (code -> status, title), the
 * way src/errors/oci.ts declares the /v2 error codes: code throws `new ProblemError('NOT_FOUND',
 * 'project x does not exist')` and never picks a status by hand, so the same mistake gets the
 * same status everywhere (an invalid body, query or path parameter is always INVALID, 400).
 * The document carries the `code` beside the RFC fields so clients can branch on it.
 */

export const PROBLEMS = {
  INVALID: { status: 400, title: 'Bad Request' },
  UNAUTHORIZED: { status: 401, title: 'Unauthorized' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  NOT_FOUND: { status: 404, title: 'Not Found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method Not Allowed' },
  CONFLICT: { status: 409, title: 'Conflict' },
  TOO_LARGE: { status: 413, title: 'Payload Too Large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported Media Type' },
  TOO_MANY_REQUESTS: { status: 429, title: 'Too Many Requests' },
  INTERNAL: { status: 500, title: 'Internal Server Error' },
  UNAVAILABLE: { status: 503, title: 'Service Unavailable' },
  INSUFFICIENT_STORAGE: { status: 507, title: 'Insufficient Storage' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

export const PROBLEM_CODES = Object.keys(PROBLEMS) as ProblemCode[];

/** The code of a framework error's status (Fastify's 400 for bad JSON, 413, 415, ...). */
export function problemCodeForStatus(status: number): ProblemCode {
  if (status >= 500) return status === 503 ? 'UNAVAILABLE' : status === 507 ? 'INSUFFICIENT_STORAGE' : 'INTERNAL';
  return PROBLEM_CODES.find((c) => PROBLEMS[c].status === status) ?? 'INVALID';
}

export class ProblemError extends Error {
  readonly status: number;
  readonly title: string;

  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? PROBLEMS[code].title);
    this.status = PROBLEMS[code].status;
    this.title = PROBLEMS[code].title;
  }

  /** Any other error as a problem: its client-error status kept, a 5xx as a logged INTERNAL. */
  static from(err: unknown, status: number, requestId: string): ProblemError {
    if (status >= 500) return new ProblemError('INTERNAL', 'internal error; see the server log for this request id', { requestId });
    return new ProblemError(problemCodeForStatus(status), (err as Error)?.message);
  }

  toJSON(): Record<string, unknown> {
    return { type: 'about:blank', title: this.title, status: this.status, code: this.code, ...(this.detail ? { detail: this.detail } : {}), ...this.extra };
  }
}
