import type { Clock } from '../clock.js';
import type { ErrorCode } from '../errors/codes.js';
import type { Principal } from '../keys/principal.js';
import type { QuotaWindow } from '../limits/quota-window.js';
import type { BucketParams } from '../limits/token-bucket.js';
import type { CounterStore, LimitDecision } from '../store/interface.js';
import type { CompiledPlan, PlanDirectory } from './directory.js';

/** The answer of the limits for one call: refused or not, and the headers to send either way. */
export interface LimitOutcome {
  refusal: { code: ErrorCode; detail: string } | null;
  /** `RateLimit-Policy` and `RateLimit` (IETF draft-ietf-httpapi-ratelimit-headers), `Retry-After` on refusal. */
  headers: Record<string, string>;
  decision: LimitDecision;
  plan: CompiledPlan;
  /** The bucket the decision used (the plan's, or a route override). */
  bucket: BucketParams;
  window: QuotaWindow | null;
  /** The time the decision was taken at (ms). */
  now: number;
}

export interface QuotaState {
  planId: string;
  limit: number;
  used: number;
  remaining: number;
  windowStart: string;
  windowEnd: string;
}

const seconds = (us: number) => Math.ceil(us / 1e6);

/** Decimal text of a count. V8 formats integers beyond 2^31 several times slower, so big ones go in two halves. */
export function decimal(n: number): string {
  if (n < 2147483648 || !Number.isSafeInteger(n)) return String(n);
  const high = Math.floor(n / 1e9);
  return String(high) + String(n - high * 1e9).padStart(9, '0');
}

/** A principal's counter keys, built once (not per call): the bucket's, and the quota window's. */
interface CounterKeys {
  bucket: string;
  windowStart: number;
  quota: string;
}

/**
 * Applies usage plans: picks the plan (the key's, or the default), the bucket (the plan's, or a
 * route/method override) and the quota window, asks the counter store for one atomic decision
 * and turns it into headers. Throttle and quota state are kept per key lineage, so a rotated
 * key's successor shares its predecessor's counts.
 */
export class Limiter {
  constructor(
    private readonly plans: PlanDirectory,
    private readonly counters: CounterStore,
    private readonly clock: Clock,
  ) {}

  /** Per cached principal; dropped with it when the key cache lets it go. */
  private readonly keys = new WeakMap<Principal, CounterKeys>();

  private keysOf(principal: Principal, window: QuotaWindow | null): CounterKeys {
    let keys = this.keys.get(principal);
    if (keys === undefined) {
      keys = { bucket: `b:${principal.lineageId}`, windowStart: NaN, quota: '' };
      this.keys.set(principal, keys);
    }
    if (window !== null && keys.windowStart !== window.start) {
      keys.windowStart = window.start;
      keys.quota = `q:${principal.lineageId}:${window.start}`;
    }
    return keys;
  }

  /** Null when the key has no plan and there is no default: no limits. Decided at `now` (the request's arrival on the request path). */
  check(principal: Principal, routePath: string, method: string, now = this.clock.now()): LimitOutcome | Promise<LimitOutcome> | null {
    const plan = this.plans.effective(principal.planId);
    if (plan === null) return null;
    const window = plan.window === null ? null : plan.window.at(now);
    const keys = this.keysOf(principal, window);
    let bucket = plan.bucket;
    let bucketKey = keys.bucket;
    if (plan.overrides.size > 0) {
      const own = plan.overrides.get(`${routePath} ${method}`);
      const any = own === undefined ? plan.overrides.get(`${routePath} *`) : undefined;
      if (own !== undefined || any !== undefined) {
        bucket = (own ?? any)!;
        // An override for every method is one bucket for all of them (regression: one each).
        bucketKey = `b:${principal.lineageId}:${routePath}:${own !== undefined ? method : '*'}`;
      }
    }
    const decision = this.counters.decide({
      bucketKey,
      bucket,
      quota: window === null ? null : { key: keys.quota, limit: plan.quotaLimit, windowEnd: window.end },
      now,
    });
    if (decision instanceof Promise) return decision.then((d) => this.outcome(d, plan, bucket, window, now));
    return this.outcome(decision, plan, bucket, window, now);
  }

  private outcome(d: LimitDecision, plan: CompiledPlan, bucket: BucketParams, window: QuotaWindow | null, now: number): LimitOutcome {
    let state = `"throttle";r=${decimal(d.remaining)};t=${seconds(d.resetUs)}`;
    if (window !== null && d.quotaUsed >= 0) {
      state += `, "quota";r=${decimal(Math.max(0, plan.quotaLimit - d.quotaUsed))};t=${Math.ceil((window.end - now) / 1000)}`;
    }
    const headers: Record<string, string> = { 'ratelimit-policy': plan.policy(bucket, window), ratelimit: state };
    let refusal: LimitOutcome['refusal'] = null;
    if (d.refusal === 'rate_limited') {
      const wait = Math.max(1, seconds(d.retryAfterUs));
      headers['retry-after'] = String(wait);
      refusal = { code: 'rate_limited', detail: `rate limit of plan "${plan.plan.name}" reached; retry in ${wait} s` };
    } else if (d.refusal === 'quota_exceeded') {
      const wait = Math.max(1, Math.ceil((window!.end - now) / 1000));
      headers['retry-after'] = String(wait);
      refusal = { code: 'quota_exceeded', detail: `quota of ${plan.quotaLimit} per ${plan.plan.quota!.period} used up; it resets at ${new Date(window!.end).toISOString()}` };
    } else if (d.refusal === 'limiter_unavailable') {
      headers['retry-after'] = '1';
      refusal = { code: 'limiter_unavailable', detail: 'limits cannot be checked right now; retry shortly' };
    }
    return { refusal, headers, decision: d, plan, bucket, window, now };
  }

  /** The quota state of a key's lineage under plan `planId` (null without a quota). */
  async quota(lineageId: string, planId: string | null): Promise<QuotaState | null> {
    const found = this.window(planId);
    if (found === null) return null;
    const used = await this.counters.quotaUsed(`q:${lineageId}:${found.window.start}`);
    return this.state(found.plan, found.window, used);
  }

  /** Resets a key's quota count for the current window, or adds to it (negative: grants calls). */
  async adjustQuota(lineageId: string, planId: string | null, change: { reset: true } | { add: number }): Promise<QuotaState | null> {
    const found = this.window(planId);
    if (found === null) return null;
    const used = await this.counters.adjustQuota(`q:${lineageId}:${found.window.start}`, change, found.window.end);
    return this.state(found.plan, found.window, used);
  }

  private window(planId: string | null): { plan: CompiledPlan; window: QuotaWindow } | null {
    const plan = this.plans.effective(planId);
    if (plan === null || plan.window === null) return null;
    return { plan, window: plan.window.at(this.clock.now()) };
  }

  private state(plan: CompiledPlan, window: QuotaWindow, used: number): QuotaState {
    return {
      planId: plan.plan.id,
      limit: plan.quotaLimit,
      used,
      remaining: Math.max(0, plan.quotaLimit - used),
      windowStart: new Date(window.start).toISOString(),
      windowEnd: new Date(window.end).toISOString(),
    };
  }
}
