import type { Clock } from '../clock.js';
import { statusOf, type ErrorCode } from '../errors/codes.js';
import type { UsageEvent } from '../monitor/events.js';
import type { Limiter } from '../plans/limiter.js';
import type { PlanDirectory } from '../plans/directory.js';
import type { RouteTable } from '../proxy/routes.js';
import type { InvalidKeyGuard } from './guard.js';
import type { KeyVerifier } from './verify.js';

export interface VerifyRequest {
  key: string;
  /** The path the caller is about to serve; matched against the routes like a proxied call. */
  route?: string | undefined;
  method?: string | undefined;
  /** The end client's address, for guessing protection and the detectors. */
  ip?: string | undefined;
  /** The Host the call was made to, for routes that match on it. */
  host?: string | undefined;
}

export interface VerifyAnswer {
  valid: boolean;
  /** `valid`, or the refusal code a proxied call would get. */
  code: 'valid' | ErrorCode;
  keyId: string | null;
  appId: string | null;
  planId: string | null;
  ratelimit: { limit: number; remaining: number; reset: number } | null;
  quota: { limit: number; remaining: number; reset: number } | null;
}

/**
 * Key verification as a service (`POST /v1/keys/verify`): the same checks as the proxy —
 * guessing guard, key, route plans, throttle and quota, counting toward the limits — for
 * services that call Keygate instead of sitting behind it. A refusal is an answer, not an error.
 */
export class VerificationService {
  constructor(
    private readonly verifier: KeyVerifier,
    private readonly routes: RouteTable,
    private readonly plans: PlanDirectory,
    private readonly limiter: Limiter,
    private readonly guard: InvalidKeyGuard | null,
    private readonly clock: Clock,
    /** Usage recording: verifications count as calls of the route they name. */
    private readonly record: ((event: UsageEvent) => void) | null = null,
  ) {}

  async verify(req: VerifyRequest): Promise<VerifyAnswer> {
    const started = performance.now();
    const receivedAt = this.clock.now();
    const answer = await this.decide(req);
    const route = req.route === undefined ? null : this.routes.match(req.host, (req.method ?? 'GET').toUpperCase(), req.route);
    this.record?.({
      ts: receivedAt,
      keyId: answer.keyId,
      appId: answer.appId,
      // Bounded labels: a route of the configuration, never a caller's free text.
      route: route?.config.path ?? (req.route === undefined ? '(verify)' : '(no route)'),
      method: (req.method ?? 'GET').toUpperCase(),
      status: answer.valid ? 200 : statusOf(answer.code as ErrorCode),
      latencyMs: performance.now() - started,
      ip: req.ip ?? '',
      bytesIn: 0,
      bytesOut: 0,
      code: answer.valid ? null : answer.code,
    });
    return answer;
  }

  private async decide(req: VerifyRequest): Promise<VerifyAnswer> {
    const answer: VerifyAnswer = { valid: false, code: 'invalid_api_key', keyId: null, appId: null, planId: null, ratelimit: null, quota: null };
    if (req.ip && this.guard && this.guard.blockedUntil(req.ip) > 0) return { ...answer, code: 'too_many_invalid_keys' };
    const key = req.key.trim();
    if (key === '') return { ...answer, code: 'missing_api_key' };
    const verdict = await this.verifier.verify(key);
    if (!verdict.ok) {
      if (verdict.code === 'invalid_api_key' && req.ip && this.guard) await this.guard.record(req.ip);
      return { ...answer, code: verdict.code, keyId: verdict.keyId ?? null, appId: verdict.appId ?? null };
    }
    const principal = verdict.principal;
    const plan = this.plans.effective(principal.planId);
    Object.assign(answer, { keyId: principal.keyId, appId: principal.appId, planId: plan?.plan.id ?? null });
    const method = (req.method ?? 'GET').toUpperCase();
    const route = req.route === undefined ? null : this.routes.match(req.host, method, req.route);
    if (req.route !== undefined && route === null) return { ...answer, code: 'route_not_found' };
    if (route !== null && route.plans !== null && (plan === null || !route.plans.has(plan.plan.name))) {
      return { ...answer, code: 'route_not_allowed' };
    }
    const outcome = await this.limiter.check(principal, route?.config.path ?? '', method);
    if (outcome !== null) {
      const d = outcome.decision;
      answer.ratelimit = { limit: outcome.bucket.burst, remaining: d.remaining, reset: Math.ceil(d.resetUs / 1e6) };
      if (outcome.window !== null && d.quotaUsed >= 0) {
        answer.quota = { limit: outcome.plan.quotaLimit, remaining: Math.max(0, outcome.plan.quotaLimit - d.quotaUsed), reset: Math.ceil((outcome.window.end - outcome.now) / 1000) };
      }
      if (outcome.refusal !== null) return { ...answer, code: outcome.refusal.code };
    }
    return { ...answer, valid: true, code: 'valid' };
  }
}
