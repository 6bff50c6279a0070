import type { Logger } from '../../log.js';
import { peekBucket, takeToken } from '../../limits/token-bucket.js';
import { KEEP_AFTER, type CounterStore, type LimitDecision, type LimitRequest, type LimitStateStore } from '../interface.js';

const QUOTA_REFUSED = 'quota_exceeded' as const;

/**
 * Limits in process memory: exact for one process, with no await on the request path. State is
 * written to the database every `flushMs` (default 1 s) and on close, and loaded at start: a
 * graceful restart loses nothing, a crash at most the last second of counts.
 */
export class MemoryCounterStore implements CounterStore {
  private readonly buckets = new Map<string, number>();
  private readonly quotas = new Map<string, { used: number; windowEnd: number }>();
  private readonly dirtyBuckets = new Set<string>();
  private readonly dirtyQuotas = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private lastSweep = 0;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly state: LimitStateStore | null,
    private readonly logger: Logger | null,
    private readonly flushMs = 1000,
  ) {}

  /** Loads persisted state and starts the periodic flush. */
  async start(now: number): Promise<void> {
    if (!this.state) return;
    for (const q of await this.state.loadQuotas(now)) this.quotas.set(q.key, { used: q.used, windowEnd: q.windowEnd });
    for (const b of await this.state.loadBuckets(now * 1000)) this.buckets.set(b.key, b.tat);
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  decide(req: LimitRequest): LimitDecision {
    const nowUs = req.now * 1000;
    const bucket = takeToken(this.buckets.get(req.bucketKey), nowUs, req.bucket);
    if (!bucket.allowed) {
      return { allowed: false, refusal: 'rate_limited', remaining: 0, resetUs: bucket.resetUs, retryAfterUs: bucket.retryAfterUs, quotaUsed: this.used(req) };
    }
    let quotaUsed = -1;
    if (req.quota !== null) {
      const entry = this.quotas.get(req.quota.key);
      const used = entry?.used ?? 0;
      if (used >= req.quota.limit) {
        // The token is not taken: a refused call costs nothing.
        const peek = peekBucket(this.buckets.get(req.bucketKey), nowUs, req.bucket);
        return { allowed: false, refusal: QUOTA_REFUSED, remaining: peek.remaining, resetUs: peek.resetUs, retryAfterUs: 0, quotaUsed: used };
      }
      quotaUsed = used + 1;
      if (entry) entry.used = quotaUsed;
      else this.quotas.set(req.quota.key, { used: quotaUsed, windowEnd: req.quota.windowEnd });
      // Without a database (the Redis store's outage fallback) nothing is written, so nothing is
      // dirty: otherwise the sweep, which spares unwritten state, would never let anything go.
      if (this.state !== null) this.dirtyQuotas.add(req.quota.key);
    }
    this.buckets.set(req.bucketKey, bucket.tat);
    if (this.state !== null) this.dirtyBuckets.add(req.bucketKey);
    if (req.now - this.lastSweep > 60_000) this.sweep(req.now);
    return { allowed: true, refusal: null, remaining: bucket.remaining, resetUs: bucket.resetUs, retryAfterUs: 0, quotaUsed };
  }

  private used(req: LimitRequest): number {
    return req.quota === null ? -1 : (this.quotas.get(req.quota.key)?.used ?? 0);
  }

  async quotaUsed(key: string): Promise<number> {
    return this.quotas.get(key)?.used ?? 0;
  }

  async adjustQuota(key: string, change: { reset: true } | { add: number }, windowEnd: number): Promise<number> {
    // A flush under way may carry the old count: let it land first, then write the new one.
    await this.flushing;
    const used = 'reset' in change ? 0 : (this.quotas.get(key)?.used ?? 0) + change.add;
    this.quotas.set(key, { used, windowEnd });
    this.dirtyQuotas.delete(key);
    await this.state?.setQuota(key, used, windowEnd);
    return used;
  }

  /** Admitted units to add to a shared store later (used by the Redis store's outage fallback). */
  drainQuotaCounts(): Array<{ key: string; used: number; windowEnd: number }> {
    const out = [...this.quotas].map(([key, q]) => ({ key, used: q.used, windowEnd: q.windowEnd }));
    this.quotas.clear();
    this.dirtyQuotas.clear();
    return out;
  }

  /** Whether a quota window's count is still held (not yet let go of by the sweep). */
  holdsQuota(key: string): boolean {
    return this.quotas.has(key);
  }

  /** Seeds a quota count (the Redis store's fallback starts from the last known count). */
  seedQuota(key: string, used: number, windowEnd: number): void {
    if (!this.quotas.has(key)) this.quotas.set(key, { used, windowEnd });
  }

  /** Drops buckets that are full again and windows that are over, after KEEP_AFTER (clock steps). */
  private sweep(now: number): void {
    this.lastSweep = now;
    const bucketBefore = (now - KEEP_AFTER.bucketMs) * 1000;
    const quotaBefore = now - KEEP_AFTER.quotaMs;
    for (const [key, tat] of this.buckets) if (tat <= bucketBefore && !this.dirtyBuckets.has(key)) this.buckets.delete(key);
    for (const [key, q] of this.quotas) if (q.windowEnd <= quotaBefore && !this.dirtyQuotas.has(key)) this.quotas.delete(key);
  }

  /** Writes changed state to the database (one write at a time). */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (!this.state || (this.dirtyBuckets.size === 0 && this.dirtyQuotas.size === 0)) return;
    const buckets = [...this.dirtyBuckets].map((key) => ({ key, tat: this.buckets.get(key)! })).filter((b) => b.tat !== undefined);
    const quotas = [...this.dirtyQuotas].map((key) => ({ key, ...this.quotas.get(key)! })).filter((q) => q.used !== undefined);
    this.dirtyBuckets.clear();
    this.dirtyQuotas.clear();
    try {
      await this.state.saveBuckets(buckets);
      await this.state.raiseQuotas(quotas);
    } catch (err) {
      // Keep them for the next attempt: nothing is lost while the database is away.
      for (const b of buckets) this.dirtyBuckets.add(b.key);
      for (const q of quotas) this.dirtyQuotas.add(q.key);
      this.logger?.warn({ err: (err as Error).message }, 'limit state not persisted; will retry');
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flushing;
    await this.flush();
  }
}
