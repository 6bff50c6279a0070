import type { LimitOutcome, Limiter } from '../plans/limiter.js';
import { addHeaders, type RequestContext, type Stage, type StageResult } from './context.js';

/**
 * Throttle, then quota, decided together in one atomic step (so a throttled call never uses
 * quota, and a quota-refused call never uses a token). Rate-limit headers go on the answer
 * whether the call is admitted or refused.
 */
export class ApplyLimits implements Stage {
  readonly name = 'throttle + quota';

  constructor(private readonly limiter: Limiter) {}

  run(ctx: RequestContext): StageResult | Promise<StageResult> {
    const outcome = this.limiter.check(ctx.principal!, ctx.route.config.path, ctx.method, ctx.receivedAt);
    if (outcome === null) return undefined;
    if (outcome instanceof Promise) return outcome.then((o) => apply(ctx, o));
    return apply(ctx, outcome);
  }
}

function apply(ctx: RequestContext, outcome: LimitOutcome): StageResult {
  addHeaders(ctx, outcome.headers);
  ctx.limit = outcome;
  if (outcome.refusal === null) return undefined;
  return { code: outcome.refusal.code, detail: outcome.refusal.detail };
}
