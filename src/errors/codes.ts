/**
 * The one table of public error codes and their HTTP statuses. Stores and services speak
 * in these codes; only `problem.ts` turns them into HTTP responses.
 */
export const ERROR_CODES = {
  // data plane (PRODUCT.md §4)
  missing_api_key: { status: 401, title: 'Missing API key' },
  invalid_api_key: { status: 401, title: 'Invalid API key' },
  key_revoked: { status: 401, title: 'API key revoked' },
  key_expired: { status: 401, title: 'API key expired' },
  key_disabled: { status: 403, title: 'API key disabled' },
  route_not_allowed: { status: 403, title: 'Route not allowed for this key' },
  rate_limited: { status: 429, title: 'Rate limit exceeded' },
  quota_exceeded: { status: 429, title: 'Quota exceeded' },
  too_many_invalid_keys: { status: 429, title: 'Too many invalid API keys' },
  route_not_found: { status: 404, title: 'No route matches this request' },
  method_not_allowed: { status: 405, title: 'Method not allowed on this route' },
  bad_request: { status: 400, title: 'Malformed request' },
  headers_too_large: { status: 431, title: 'Request headers too large' },
  limiter_unavailable: { status: 503, title: 'Rate limiter unavailable' },
  store_unavailable: { status: 503, title: 'Key store unavailable' },
  shutting_down: { status: 503, title: 'Gateway is shutting down' },
  upstream_error: { status: 502, title: 'Upstream unreachable' },
  upstream_timeout: { status: 504, title: 'Upstream timed out' },
  // control plane (PRODUCT.md §6)
  invalid_request: { status: 400, title: 'Invalid request' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  internal_error: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes a key verification may answer with when it refuses a key. */
export type KeyRefusalCode = 'invalid_api_key' | 'key_revoked' | 'key_expired' | 'key_disabled';

export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

/**
 * A client-facing failure raised by a service (not found, conflict, bad input). It carries a
 * public code and a public message; anything else thrown is a fault and is shown as a 500.
 */
export class PublicError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'PublicError';
  }
}

/** A 400 `invalid_request` naming one field, as request validation does. */
export function invalidField(field: string, message: string): PublicError {
  return new PublicError('invalid_request', `${field}: ${message}`, { errors: [{ field, message }] });
}
