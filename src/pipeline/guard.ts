import type { InvalidKeyGuard } from '../keys/guard.js';
import type { Verdict } from '../keys/principal.js';
import type { RequestContext, Stage, StageResult } from './context.js';

/**
 * Refuses client addresses blocked for guessing keys, before any key is looked at: the refusal
 * costs one map lookup and no store access.
 */
export class GuardStage implements Stage {
  readonly name = 'guessing guard';

  constructor(private readonly guard: InvalidKeyGuard) {}

  run(ctx: RequestContext): StageResult {
    const until = this.guard.blockedUntil(ctx.clientIp);
    if (until === 0) return undefined;
    return {
      code: 'too_many_invalid_keys',
      detail: 'too many invalid API keys from this address; try again later',
      headers: { 'retry-after': String(Math.max(1, Math.ceil((until - ctx.receivedAt) / 1000))) },
    };
  }

  /** Authentication's verdict listener: counts invalid and malformed keys per address. */
  readonly onVerdict = (ctx: RequestContext, verdict: Verdict): void | Promise<void> => {
    if (!verdict.ok && verdict.code === 'invalid_api_key') return this.guard.record(ctx.clientIp);
  };
}
