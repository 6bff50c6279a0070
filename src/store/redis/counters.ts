import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import { PublicError } from '../../errors/codes.js';
import type { Metrics } from '../../monitor/metrics.js';
import { KEEP_AFTER, type CounterStore, type LimitDecision, type LimitRequest, type LimitStateStore } from '../interface.js';
import { MemoryCounterStore } from '../memory/counters.js';

const DECIDE = readFileSync(new URL('./decide.lua', import.meta.url), 'utf8');
const ADJUST = readFileSync(new URL('./adjust.lua', import.meta.url), 'utf8');
const REFUSALS = [null, 'rate_limited', 'quota_exceeded'] as const;
const QUOTA_GRACE_MS = KEEP_AFTER.quotaMs;
/** Decisions per script call (the script reads all their keys with one MGET). */
const MAX_BATCH = 500;

interface LimitCommands {
  kgDecide(numKeys: number, ...keysAndArgs: string[]): Promise<string>;
  kgAdjust(quota: string, op: 'set' | 'add', value: number, floor: number, ttl: number): Promise<number>;
}

export interface RedisCounterOptions {
  prefix: string;
  /** Refuse with 503 while Redis is unreachable instead of limiting locally. */
  failClosed: boolean;
  /** Pass the gateway's clock to Redis instead of Redis TIME (tests with an injected clock). */
  passClock: boolean;
  logger: Logger;
  metrics: Metrics;
  flushMs?: number;
}

/**
 * Limits shared by every node, decided in Redis by a Lua script: the decisions of one
 * event-loop turn go in one script call (one round trip, each key read and written once).
 * Exact across nodes, on Redis's clock.
 *
 * Failure policy: when Redis does not answer, this node decides locally with each plan's full
 * budget (or refuses with 503 `limiter_unavailable` if `failClosed`), counting the quota it
 * admits; when Redis is back, those counts are added to Redis and decisions return there.
 * Quota counts are also persisted to the database (at most `flushMs` behind), and a count
 * missing from Redis (restart, flush) restarts from the persisted one.
 */
export class RedisCounterStore implements CounterStore {
  private readonly redis: Redis & LimitCommands;
  private local: MemoryCounterStore;
  /** Last known count per quota key (from Redis replies or the database). */
  private readonly known = new Map<string, { used: number; windowEnd: number }>();
  private readonly dirty = new Set<string>();
  private readonly loadingFloor = new Map<string, Promise<number>>();
  /**
   * Counts each quota key had when the outage began (to add only the local increments later),
   * with the end of its window: let go with the local count, an hour after the window ends.
   */
  private outageSeeds: Map<string, { seed: number; windowEnd: number }> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private probe: NodeJS.Timeout | null = null;
  /** Decisions of this event-loop turn, sent to Redis together in one script call. */
  private batch: Array<{ req: LimitRequest; floor: number; resolve: (d: LimitDecision) => void }> = [];

  constructor(
    redis: Redis,
    private readonly state: LimitStateStore,
    private readonly options: RedisCounterOptions,
  ) {
    redis.defineCommand('kgDecide', { lua: DECIDE });
    redis.defineCommand('kgAdjust', { numberOfKeys: 1, lua: ADJUST });
    this.redis = redis as Redis & LimitCommands;
    this.local = new MemoryCounterStore(null, options.logger);
    redis.on('ready', () => void this.recover());
    options.metrics.limiterState.set(redis.status === 'ready' ? 1 : 0);
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.options.flushMs ?? 1000);
    this.timer.unref();
  }

  private key(k: string): string {
    return this.options.prefix + k;
  }

  async decide(req: LimitRequest): Promise<LimitDecision> {
    if (this.outageSeeds !== null) return this.decideLocally(req);
    const quota = req.quota;
    const floor = quota === null ? 0 : (this.known.get(quota.key)?.used ?? (await this.floor(quota.key)));
    return new Promise((resolve) => {
      if (this.batch.push({ req, floor, resolve }) === 1) setImmediate(() => void this.send());
    });
  }

  /**
   * Sends the batch: one script call decides all of it, in order, atomically (at most
   * MAX_BATCH decisions per call; the rest go in further calls, in order).
   */
  private async send(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    if (batch.length <= MAX_BATCH) return this.sendBatch(batch);
    const sent: Array<Promise<void>> = [];
    for (let i = 0; i < batch.length; i += MAX_BATCH) sent.push(this.sendBatch(batch.slice(i, i + MAX_BATCH)));
    await Promise.all(sent);
  }

  private async sendBatch(batch: RedisCounterStore['batch']): Promise<void> {
    // Distinct keys, each sent once; the decisions refer to them by index (Lua, from 1).
    const keys: string[] = [];
    const index = new Map<string, number>();
    const slot = (key: string) => {
      let i = index.get(key);
      if (i === undefined) {
        i = keys.push(this.key(key));
        index.set(key, i);
      }
      return i;
    };
    const decisions: number[] = [];
    for (const { req, floor } of batch) {
      const quota = req.quota;
      decisions.push(
        slot(req.bucketKey),
        quota === null ? 0 : slot(quota.key),
        req.bucket.intervalUs,
        req.bucket.toleranceUs,
        quota?.limit ?? 0,
        quota === null ? 0 : Math.max(1000, quota.windowEnd - req.now + QUOTA_GRACE_MS),
        floor,
      );
    }
    let reply: string;
    try {
      reply = await this.redis.kgDecide(keys.length, ...keys, this.options.passClock ? String(batch[0]!.req.now * 1000) : '', JSON.stringify(decisions));
    } catch (err) {
      this.enterOutage(err as Error);
      for (const item of batch) item.resolve(this.decideLocally(item.req));
      return;
    }
    const v = reply.split(',');
    for (let i = 0; i < batch.length; i++) {
      const { req, resolve } = batch[i]!;
      const o = i * 6;
      const quotaUsed = Number(v[o + 5]);
      if (req.quota !== null && quotaUsed >= 0) this.observe(req.quota.key, quotaUsed, req.quota.windowEnd);
      resolve({
        allowed: v[o] === '1',
        refusal: REFUSALS[Number(v[o + 1])] ?? null,
        remaining: Number(v[o + 2]),
        retryAfterUs: Number(v[o + 3]),
        resetUs: Number(v[o + 4]),
        quotaUsed: req.quota === null ? -1 : quotaUsed,
      });
    }
  }

  private observe(key: string, used: number, windowEnd: number): void {
    const prev = this.known.get(key);
    if (prev === undefined || prev.used !== used) {
      this.known.set(key, { used, windowEnd });
      this.dirty.add(key);
    }
  }

  /** The persisted count of a quota window, read once per key. */
  private floor(key: string): Promise<number> {
    let pending = this.loadingFloor.get(key);
    if (!pending) {
      pending = this.state
        .getQuota(key)
        .catch(() => 0)
        .finally(() => this.loadingFloor.delete(key));
      this.loadingFloor.set(key, pending);
    }
    return pending;
  }

  private decideLocally(req: LimitRequest): LimitDecision {
    this.options.metrics.limiterFallback.inc();
    if (this.options.failClosed) {
      return { allowed: false, refusal: 'limiter_unavailable', remaining: 0, resetUs: 0, retryAfterUs: 1_000_000, quotaUsed: -1 };
    }
    if (req.quota !== null && this.outageSeeds !== null && !this.outageSeeds.has(req.quota.key)) {
      const seed = this.known.get(req.quota.key)?.used ?? 0;
      this.outageSeeds.set(req.quota.key, { seed, windowEnd: req.quota.windowEnd });
      this.local.seedQuota(req.quota.key, seed, req.quota.windowEnd);
    }
    return this.local.decide(req);
  }

  private enterOutage(err: Error): void {
    this.options.metrics.limiterErrors.inc();
    if (this.outageSeeds !== null) return;
    this.outageSeeds = new Map();
    this.options.metrics.limiterState.set(0);
    // A stalled or erroring Redis may keep its connection: do not wait for a reconnect to
    // notice it is back, ask it every second.
    this.probe = setInterval(() => {
      this.redis.ping().then(
        () => void this.recover(),
        () => {},
      );
    }, 1000);
    this.probe.unref();
    this.options.logger.warn(
      { err: err.message, failClosed: this.options.failClosed },
      this.options.failClosed ? 'Redis unreachable: refusing limited calls (failClosed)' : 'Redis unreachable: limiting locally until it is back',
    );
  }

  private recovering = false;

  /**
   * Redis is back: hand over what was admitted locally, then decide in Redis again. Decisions
   * taken while the hand-over is under way go to a fresh local store (seeded with the counts
   * handed over), whose counts are handed over in the next round; the switch back to Redis
   * happens only when a round finds nothing left to hand over.
   */
  private async recover(): Promise<void> {
    if (this.outageSeeds === null || this.recovering) return;
    this.recovering = true;
    try {
      for (let round = 0; round < 10; round++) {
        const seeds = this.outageSeeds!;
        const drained = this.local;
        const counts = drained.drainQuotaCounts();
        const added = counts
          .map((c) => {
            const seed = seeds.get(c.key)?.seed ?? 0;
            return { ...c, seed, added: c.used - seed };
          })
          .filter((c) => c.added > 0);
        if (added.length === 0) {
          // Nothing pending, and no await since the check: switch back now.
          this.outageSeeds = null;
          this.options.metrics.limiterState.set(1);
          if (this.probe) clearInterval(this.probe);
          this.probe = null;
          this.options.logger.info('Redis reachable again: limits are shared again');
          return;
        }
        // Later local decisions start from the counts known now, in a store of their own.
        for (const c of counts) this.known.set(c.key, { used: c.used, windowEnd: c.windowEnd });
        this.local = new MemoryCounterStore(null, this.options.logger);
        this.outageSeeds = new Map();
        try {
          for (const c of added) {
            // If Redis lost the count, it restarts from what was known before the outage (or the
            // database's copy, if that is higher), plus what this node admitted meanwhile.
            const floor = Math.max(c.seed, await this.floor(c.key));
            const used = await this.redis.kgAdjust(this.key(c.key), 'add', c.added, floor, Math.max(1000, c.windowEnd - Date.now() + QUOTA_GRACE_MS));
            this.observe(c.key, used, c.windowEnd);
            c.added = 0;
          }
        } catch (err) {
          // Still not usable: what was not handed over stays owed, in the local store's seeds.
          for (const c of added) {
            if (c.added <= 0) continue;
            const current = this.known.get(c.key)?.used ?? 0;
            const owed = this.outageSeeds.get(c.key);
            if (owed === undefined) this.local.seedQuota(c.key, current, c.windowEnd);
            this.outageSeeds.set(c.key, { seed: (owed?.seed ?? current) - c.added, windowEnd: c.windowEnd });
          }
          this.options.logger.warn({ err: (err as Error).message }, 'Redis back but not usable yet');
          return;
        }
      }
    } finally {
      this.recovering = false;
    }
  }

  async quotaUsed(key: string): Promise<number> {
    // During an outage this node's own count is the newest one (it started from the last known).
    if (this.outageSeeds?.has(key)) return this.local.quotaUsed(key);
    try {
      const value = await this.redis.get(this.key(key));
      if (value !== null) return Number(value);
    } catch {
      // fall through to what is known
    }
    return this.known.get(key)?.used ?? (await this.floor(key));
  }

  async adjustQuota(key: string, change: { reset: true } | { add: number }, windowEnd: number): Promise<number> {
    const ttl = Math.max(1000, windowEnd - Date.now() + QUOTA_GRACE_MS);
    const floor = this.known.get(key)?.used ?? (await this.floor(key));
    let used: number;
    try {
      used = 'reset' in change ? await this.redis.kgAdjust(this.key(key), 'set', 0, 0, ttl) : await this.redis.kgAdjust(this.key(key), 'add', change.add, floor, ttl);
    } catch (err) {
      // Changed here alone, the count would be overwritten by Redis's as soon as it is back.
      this.options.logger.warn({ err: (err as Error).message }, 'quota not adjusted: Redis is unreachable');
      throw new PublicError('limiter_unavailable', 'Redis, which holds the quota counts, is unreachable; the quota was not changed. Retry shortly.');
    }
    this.known.set(key, { used, windowEnd });
    this.dirty.delete(key);
    await this.state.setQuota(key, used, windowEnd);
    return used;
  }

  /** Persists observed quota counts (monotonic: other nodes may have written higher ones). */
  async flush(): Promise<void> {
    if (this.dirty.size > 0) {
      const rows = [...this.dirty].map((key) => ({ key, ...this.known.get(key)! }));
      this.dirty.clear();
      try {
        await this.state.raiseQuotas(rows);
      } catch (err) {
        for (const r of rows) this.dirty.add(r.key);
        this.options.logger.warn({ err: (err as Error).message }, 'quota counts not persisted; will retry');
      }
    }
    this.forget(Date.now());
  }

  /**
   * Lets go of counts of windows that ended more than QUOTA_GRACE_MS ago: the ones known, once
   * persisted, and during an outage the seeds of windows the local store has let go of too (one
   * per key and window that called: a long outage must not grow memory with them).
   */
  private forget(now: number): void {
    for (const [key, q] of this.known) if (q.windowEnd + QUOTA_GRACE_MS < now && !this.dirty.has(key)) this.known.delete(key);
    if (this.outageSeeds === null) return;
    for (const [key, s] of this.outageSeeds) if (s.windowEnd + QUOTA_GRACE_MS < now && !this.local.holdsQuota(key)) this.outageSeeds.delete(key);
  }

  /** Quota windows this node holds seeds for while Redis is unreachable (for tests). */
  outageSeedCount(): number {
    return this.outageSeeds?.size ?? 0;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.probe) clearInterval(this.probe);
    this.timer = null;
    await this.flush();
  }
}
