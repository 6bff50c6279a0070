import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from '../errors/codes.js';
import type { Principal } from '../keys/principal.js';
import type { LimitOutcome } from '../plans/limiter.js';
import type { Route } from '../proxy/routes.js';

/** Why a stage stopped the request; turned into a problem+json response by the server. */
export interface Refusal {
  code: ErrorCode;
  detail?: string;
  headers?: Record<string, string>;
}

/** Per-request state shared by the stages. Stages read what earlier stages wrote, nothing else. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly route: Route;
  readonly method: string;
  /** Request path, normalised, without the query. */
  readonly path: string;
  /** Query string including its '?', or ''. */
  readonly search: string;
  readonly clientIp: string;
  /** Wall-clock time the request arrived (ms). */
  readonly receivedAt: number;
  /** High-resolution start, for latency. */
  readonly startedAt: number;
  /** The credential found, if any, and the query parameter it came from (to strip it). */
  credential: string | null;
  credentialQueryParam: string | null;
  /** Set by authentication. */
  principal: Principal | null;
  /** Key and app a refused key belonged to (revoked, expired, disabled), for usage records. */
  refusedKeyId: string | null;
  refusedAppId: string | null;
  /** Response headers later stages add (rate-limit state); sent with the answer either way. */
  headers: Record<string, string> | null;
  /** Set by the limits stage when the key has a plan. */
  limit: LimitOutcome | null;
}

/** A stage returns nothing to go on, or a refusal to stop. It may be async, but needs not be. */
export type StageResult = Refusal | undefined;

export interface Stage {
  readonly name: string;
  run(ctx: RequestContext): StageResult | Promise<StageResult>;
}

/** Adds response headers; the first object given is taken over (not copied): callers hand in fresh ones. */
export function addHeaders(ctx: RequestContext, headers: Record<string, string>): void {
  if (ctx.headers === null) ctx.headers = headers;
  else Object.assign(ctx.headers, headers);
}
