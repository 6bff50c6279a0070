import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.js';
import { problemBody, sendProblem } from '../errors/problem.js';
import { StoreUnavailable } from '../keys/verify.js';
import type { Pipeline } from '../pipeline/compose.js';
import type { Refusal, RequestContext } from '../pipeline/context.js';
import type { Logger } from '../log.js';
import { forward, type Upstreams } from './forward.js';
import { upstreamRequestHeaders } from './headers.js';
import type { RouteTable } from './routes.js';

export interface ProxyOptions {
  routes: RouteTable;
  pipeline: Pipeline;
  upstreams: Upstreams;
  clock: Clock;
  logger: Logger;
  /** Take the client address from the last X-Forwarded-For entry (behind a trusted proxy). */
  trustProxy: boolean;
  /**
   * Called once per request after its answer was sent (or failed): the record stage. `bytesIn`
   * is the body sent upstream for a forwarded call, the declared Content-Length for a refused one.
   */
  onComplete?: (ctx: RequestContext, status: number, code: string | null, bytesIn: number, bytesOut: number) => void;
  /** Called for a request no route took (400/404/405), so it is recorded too. */
  onUnrouted?: (req: IncomingMessage, clientIp: string, status: number, code: string, receivedAt: number, startedAt: number) => void;
}

const NEEDS_NORMALISING = /\/\.|%2e|%2f|%5c|\\/i;
const ABSOLUTE_FORM = /^https?:\/\//i;
/** A segment some upstreams still read as "parent" after normalisation (`..;` on Java servers). */
const DOTTED_SEGMENT = /(^|\/)\.\.[^/]*(\/|$)/;

/**
 * The path of a request target, normalised; or null for a target that is not a path (or one
 * that tries to climb out of its route). Dot segments and encoded slashes and backslashes are
 * resolved before routing, so /demo/../admin cannot reach a route it does not name.
 */
function targetPath(url: string, q: number): string | null {
  let path = q === -1 ? url : url.slice(0, q);
  if (path.charCodeAt(0) !== 47) return null;
  // Most paths hold none of the characters the expression looks for: three scans cost less than the expression.
  if ((path.includes('%') || path.includes('\\') || path.includes('/.')) && NEEDS_NORMALISING.test(path)) {
    try {
      path = new URL(path.replace(/%2f/gi, '/').replace(/%5c/gi, '/').replace(/\\/g, '/'), 'http://x').pathname;
    } catch {
      return null;
    }
    if (DOTTED_SEGMENT.test(path) || /%2e%2e/i.test(path)) return null;
  }
  return path;
}

/** Path and query of an absolute-form target (`GET http://host/path`), or null if it is not a URL. */
function originForm(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  } catch {
    return null;
  }
}

/** JSON with every non-ASCII character escaped: a valid header value whatever the metadata holds. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The body size a request declares (Content-Length), 0 without one. */
function declaredLength(req: IncomingMessage): number {
  const length = req.headers['content-length'];
  return length === undefined ? 0 : Number(length) || 0;
}

const SERVER = Symbol('keygate.proxy');
const CANCEL = Symbol('keygate.cancel');

type TrackedResponse = ServerResponse & { [SERVER]?: ProxyServer; [CANCEL]?: () => void };

/** Shared by every response (no per-request closure): counts the request done, cancels the upstream call if the client left. */
function onResponseClose(this: TrackedResponse): void {
  if (!this.writableFinished) this[CANCEL]?.();
  this[SERVER]?.settled();
}

/**
 * The data plane: node:http in front, undici pools behind. Per request: route, run the
 * pipeline (authenticate → authorize → throttle → quota), forward, then record.
 */
export class ProxyServer {
  readonly server: Server;
  private inflight = 0;
  private closing = false;
  private drained: (() => void) | null = null;

  constructor(private readonly options: ProxyOptions) {
    this.server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => this.handle(req, res));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (!socket.writable) return socket.destroy();
      const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
      const code = tooLarge ? 'headers_too_large' : 'bad_request';
      const body = JSON.stringify(problemBody(code, tooLarge ? 'request headers are too large' : 'the request is not valid HTTP'));
      socket.end(
        `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
          `content-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    });
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting, lets in-flight requests finish (up to `timeoutMs`), then closes. */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.server.closeAllConnections();
    await closed;
  }

  private clientIp(req: IncomingMessage): string {
    if (this.options.trustProxy) {
      const xff = req.headers['x-forwarded-for'];
      const text = Array.isArray(xff) ? xff.join(',') : xff;
      if (text) {
        const last = text.slice(text.lastIndexOf(',') + 1).trim();
        if (last) return last;
      }
    }
    const ip = req.socket.remoteAddress ?? '';
    return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  }

  /** One request finished (its response closed): lets a graceful close complete. */
  settled(): void {
    if (--this.inflight === 0 && this.drained) this.drained();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.closing) res.shouldKeepAlive = false;
    let url = req.url ?? '/';
    if (url.charCodeAt(0) !== 47 /* / */ && ABSOLUTE_FORM.test(url)) url = originForm(url) ?? '';
    const q = url.indexOf('?');
    const path = targetPath(url, q);
    const method = req.method ?? 'GET';
    const routes = this.options.routes;
    const route = path === null ? null : routes.match(req.headers.host, method, path);
    if (route === null || path === null) {
      const receivedAt = this.options.clock.now();
      const started = performance.now();
      if (path === null) sendProblem(res, 'bad_request', 'unsupported request target');
      else if (routes.methodMismatch(req.headers.host, path)) sendProblem(res, 'method_not_allowed', `${method} is not allowed on this route`);
      else sendProblem(res, 'route_not_found', `no route for ${path}`);
      const code = path === null ? 'bad_request' : res.statusCode === 405 ? 'method_not_allowed' : 'route_not_found';
      this.options.onUnrouted?.(req, this.clientIp(req), res.statusCode, code, receivedAt, started);
      return;
    }
    const ctx: RequestContext = {
      req,
      res,
      route,
      method,
      path,
      search: q === -1 ? '' : url.slice(q),
      clientIp: this.clientIp(req),
      receivedAt: this.options.clock.now(),
      startedAt: performance.now(),
      credential: null,
      credentialQueryParam: null,
      principal: null,
      refusedKeyId: null,
      refusedAppId: null,
      headers: null,
      limit: null,
    };
    this.inflight++;
    (res as TrackedResponse)[SERVER] = this;
    res.on('close', onResponseClose);
    let result;
    try {
      result = this.options.pipeline(ctx);
    } catch (err) {
      return this.fault(ctx, err);
    }
    if (result instanceof Promise) {
      result.then(
        (refusal) => this.proceed(ctx, refusal),
        (err: unknown) => this.fault(ctx, err),
      );
    } else {
      this.proceed(ctx, result);
    }
  }

  private proceed(ctx: RequestContext, refusal: Refusal | undefined): void {
    if (refusal !== undefined) {
      const headers = refusal.headers && ctx.headers ? { ...ctx.headers, ...refusal.headers } : (refusal.headers ?? ctx.headers ?? undefined);
      sendProblem(ctx.res, refusal.code, refusal.detail, headers);
      this.answered(ctx, refusal.code);
      return;
    }
    const { route, principal } = ctx;
    const headers = upstreamRequestHeaders(ctx.req, ctx.clientIp, route.credentialHeaders, {
      appId: principal!.appId,
      keyId: principal!.keyId,
      metadata: route.config.forwardMetadata && principal!.metadata ? asciiJson(principal!.metadata) : null,
    });
    const rest = route.config.stripPrefix ? ctx.path.slice(route.prefix.length) : ctx.path;
    const path = route.basePath + (rest === '' ? (route.basePath === '' ? '/' : '') : rest) + this.query(ctx);
    (ctx.res as TrackedResponse)[CANCEL] = forward(
      {
        req: ctx.req,
        res: ctx.res,
        pool: this.options.upstreams.pool(route.origin),
        path,
        headers,
        timeoutMs: route.config.timeoutMs,
        extraHeaders: ctx.headers,
      },
      (status, bytesIn, bytesOut, error) => {
        if (error && status >= 502) this.options.logger.warn({ route: route.config.path, err: error.message }, 'upstream failed');
        const code = status === 502 && error ? 'upstream_error' : status === 504 && error ? 'upstream_timeout' : null;
        this.options.onComplete?.(ctx, status, code, bytesIn, bytesOut);
      },
    );
  }

  /** The query to forward: the client's, without the parameter that carried the key. */
  private query(ctx: RequestContext): string {
    if (ctx.credentialQueryParam === null) return ctx.search;
    const params = new URLSearchParams(ctx.search);
    params.delete(ctx.credentialQueryParam);
    const rest = params.toString();
    return rest ? `?${rest}` : '';
  }

  private fault(ctx: RequestContext, err: unknown): void {
    const code = err instanceof StoreUnavailable ? 'store_unavailable' : 'internal_error';
    if (code === 'store_unavailable') {
      sendProblem(ctx.res, code, 'keys cannot be checked right now; retry shortly', { 'retry-after': '1' });
    } else {
      this.options.logger.error({ err }, 'request pipeline failed');
      sendProblem(ctx.res, code);
    }
    this.answered(ctx, code);
  }

  /** Records a call the gateway answered itself (refused, or failed): its body was not read. */
  private answered(ctx: RequestContext, code: string): void {
    this.options.onComplete?.(ctx, ctx.res.statusCode, code, declaredLength(ctx.req), Number(ctx.res.getHeader('content-length') ?? 0));
  }
}
