import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool, util } from 'undici';
import { sendProblem } from '../errors/problem.js';
import { connectionTokens, isHopByHop, type OutgoingHeaders } from './headers.js';

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

/** `bytesIn`: the request body bytes sent upstream (counted, so a chunked upload counts too). */
export type ForwardDone = (status: number, bytesIn: number, bytesOut: number, error?: Error) => void;

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * A response handler on undici's dispatch interface: upstream bytes go straight to the client's
 * socket, with backpressure both ways, and no intermediate stream objects. It uses the callback
 * set undici 7 calls natively (onConnect/onBodySent/onHeaders/onData/onComplete/onError).
 */
class ForwardHandler {
  private abortUpstream: ((err?: Error) => void) | null = null;
  private resume: (() => void) | null = null;
  private bytesIn = 0;
  private bytesOut = 0;
  private status = 0;

  constructor(
    private readonly f: ForwardRequest,
    private readonly done: ForwardDone,
  ) {}

  /** The client went away: stop the upstream call. */
  cancel(): void {
    this.abortUpstream?.();
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.f.res.destroyed) abort();
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx: informational, not forwarded
    const res = this.f.res;
    const out: string[] = [];
    let named: Set<string> | null = null;
    for (let i = 0; i < raw.length; i += 2) {
      // Interned lower-case names for the well-known headers (no string built), as undici's own parser does.
      const name = util.headerNameToString(raw[i]!);
      if (name === 'connection') {
        named = connectionTokens(raw[i + 1]!.toString('latin1'));
        continue;
      }
      if (isHopByHop(name)) continue;
      out.push(name, raw[i + 1]!.toString('latin1'));
    }
    if (named !== null) {
      for (let i = out.length - 2; i >= 0; i -= 2) if (named.has(out[i]!)) out.splice(i, 2);
    }
    const extra = this.f.extraHeaders;
    if (extra !== null) for (const name in extra) out.push(name, extra[name]!);
    this.status = statusCode;
    res.writeHead(statusCode, statusText || undefined, out);
    this.resume = resume;
    return true;
  }

  /** A chunk of the request body went upstream (never called for a request without a body). */
  onBodySent(chunk: Buffer | string): void {
    this.bytesIn += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
  }

  onData(chunk: Buffer): boolean {
    this.bytesOut += chunk.length;
    const res = this.f.res;
    if (res.write(chunk)) return true;
    // Client slower than upstream: pause until the client's socket drains.
    res.once('drain', this.resume!);
    return false;
  }

  onComplete(): void {
    this.f.res.end();
    this.done(this.status, this.bytesIn, this.bytesOut);
  }

  onError(err: Error): void {
    const res = this.f.res;
    if (res.headersSent || res.destroyed) {
      res.destroy();
      this.done(res.headersSent ? this.status : 499, this.bytesIn, this.bytesOut, err);
      return;
    }
    const timeout = TIMEOUT_CODES.has((err as { code?: string }).code ?? '');
    sendProblem(
      res,
      timeout ? 'upstream_timeout' : 'upstream_error',
      timeout ? 'the upstream did not answer in time' : 'the upstream could not be reached',
      this.f.extraHeaders ?? undefined,
    );
    this.done(timeout ? 504 : 502, this.bytesIn, 0, err);
  }
}

/**
 * Streams the request to the upstream and its response back, both ways without buffering.
 * Calls `done` once the response is complete or has failed (502/504 when nothing was sent yet).
 * Returns a function that cancels the upstream call (for a client that disconnects).
 */
export function forward(f: ForwardRequest, done: ForwardDone): () => void {
  const handler = new ForwardHandler(f, done);
  f.pool.dispatch(
    {
      path: f.path,
      method: f.req.method as 'GET',
      headers: f.headers,
      body: hasBody(f.req) ? f.req : null,
      headersTimeout: f.timeoutMs,
      bodyTimeout: f.timeoutMs,
    },
    handler as never,
  );
  return () => handler.cancel();
}
