/**
 * RFC 9457 problem documents for the management API (`application/problem+json`).
 */

export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
  }

  static from(err: unknown, status: number, requestId: string): ProblemError {
    if (status >= 500) return new ProblemError(500, 'Internal Server Error', 'internal error; see the server log for this request id', { requestId });
    return new ProblemError(status, httpTitle(status), (err as Error)?.message);
  }

  toJSON(): Record<string, unknown> {
    return { type: 'about:blank', title: this.title, status: this.status, ...(this.detail ? { detail: this.detail } : {}), ...this.extra };
  }
}

function httpTitle(status: number): string {
  const titles: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Content', 429: 'Too Many Requests' };
  return titles[status] ?? 'Error';
}
