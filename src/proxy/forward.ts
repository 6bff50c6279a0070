import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool } from 'undici';
import { sendProblem } from '../errors/problem.js';
import { downstreamResponseHeaders, type OutgoingHeaders } from './headers.js';

/** One keep-alive connection pool per upstream origin. */
export class Upstreams {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly connections: number) {}

  pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: this.connections, keepAliveTimeout: 10_000, pipelining: 1 });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    this.pools.clear();
  }
}

export interface ForwardRequest {
  req: IncomingMessage;
  res: ServerResponse;
  pool: Pool;
  path: string;
  headers: OutgoingHeaders;
  timeoutMs: number;
  /** Extra response headers (rate-limit state) added to the upstream's. */
  extraHeaders: Record<string, string> | null;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * Streams the request to the upstream and its response back, both ways without buffering.
 * Calls `done` once the response is complete or has failed (502/504 when nothing was sent yet).
 */
export function forward(f: ForwardRequest, done: (status: number, error?: Error) => void): void {
  const { req, res } = f;
  // The response doubles as the abort signal: a client that goes away cancels the upstream call.
  res.once('close', () => {
    if (!res.writableFinished) res.emit('abort');
  });
  f.pool.stream(
    {
      path: f.path,
      method: req.method as 'GET',
      headers: f.headers,
      body: hasBody(req) ? req : null,
      headersTimeout: f.timeoutMs,
      bodyTimeout: f.timeoutMs,
      signal: res,
      opaque: f,
    },
    ({ statusCode, headers, opaque }) => {
      const out = downstreamResponseHeaders(headers as Record<string, string | string[]>);
      if (opaque.extraHeaders) Object.assign(out, opaque.extraHeaders);
      opaque.res.writeHead(statusCode, out);
      return opaque.res;
    },
    (err) => {
      if (!err) return done(res.statusCode);
      const code = (err as { code?: string }).code ?? '';
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return done(res.headersSent ? res.statusCode : 499, err);
      }
      const timeout = TIMEOUT_CODES.has(code);
      sendProblem(res, timeout ? 'upstream_timeout' : 'upstream_error', timeout ? 'the upstream did not answer in time' : 'the upstream could not be reached', f.extraHeaders ?? undefined);
      done(timeout ? 504 : 502, err);
    },
  );
}
