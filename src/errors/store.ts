/**
 * The few generic errors a store may throw. Stores hold no rules: services catch these and
 * decide what they mean for the caller (usually an OciError).
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
