import type { ServerResponse } from 'node:http';
import { ERROR_CODES, type ErrorCode } from './codes.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  [extension: string]: unknown;
}

/** The RFC 9457 body for a public error code. */
export function problemBody(code: ErrorCode, detail?: string, extra?: Record<string, unknown>): ProblemBody {
  const { status, title } = ERROR_CODES[code];
  const body: ProblemBody = { type: `urn:keygate:problem:${code}`, title, status, code };
  if (detail !== undefined) body.detail = detail;
  if (extra) Object.assign(body, extra);
  return body;
}

/**
 * Writes a problem+json response on a raw node:http response (the data plane).
 * `headers` are added as given (rate-limit headers, Retry-After).
 */
export function sendProblem(
  res: ServerResponse,
  code: ErrorCode,
  detail?: string,
  headers?: Record<string, string | number>,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(problemBody(code, detail));
  const out: Record<string, string | number> = {
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  };
  if (headers) Object.assign(out, headers);
  res.writeHead(ERROR_CODES[code].status, out);
  res.end(body);
}
