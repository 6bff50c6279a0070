import type { Clock } from '../clock.js';
import { parseDuration } from '../duration.js';
import type { Logger } from '../log.js';
import { WindowCache, type QuotaWindow } from '../limits/quota-window.js';
import { bucketParams, type BucketParams } from '../limits/token-bucket.js';
import type { ChangeBus } from '../store/bus.js';
import type { Plan, PlanStore } from '../store/interface.js';

/** A plan prepared for the request path: bucket parameters, override table, quota window cache. */
export interface CompiledPlan {
  readonly plan: Plan;
  readonly bucket: BucketParams;
  /** `"<route> <METHOD>"` or `"<route> *"` → bucket parameters of an override. */
  readonly overrides: ReadonlyMap<string, BucketParams>;
  readonly window: WindowCache | null;
  readonly quotaLimit: number;
  /** `RateLimit-Policy` for the plan's own throttle and quota, per quota window. */
  policy(bucket: BucketParams, window: QuotaWindow | null): string;
}

function throttlePolicy(b: BucketParams): string {
  const seconds = Math.max(1, Math.ceil((b.burst * b.intervalUs) / 1e6));
  return `"throttle";q=${b.burst};w=${seconds}`;
}

export function compilePlan(plan: Plan): CompiledPlan {
  const bucket = bucketParams(plan.rate, plan.burst);
  const overrides = new Map<string, BucketParams>();
  for (const o of plan.overrides) overrides.set(`${o.route} ${o.method ?? '*'}`, bucketParams(o.rate, o.burst));
  const window = plan.quota
    ? new WindowCache({ period: plan.quota.period, timezone: plan.timezone, offsetMs: plan.quota.offset ? (parseDuration(plan.quota.offset) ?? 0) : 0 })
    : null;
  const own = throttlePolicy(bucket);
  let memo: { window: QuotaWindow | null; text: string } | null = null;
  return {
    plan,
    bucket,
    overrides,
    window,
    quotaLimit: plan.quota?.limit ?? 0,
    policy(b, w) {
      const head = b === bucket ? own : throttlePolicy(b);
      if (w === null || plan.quota === null) return head;
      if (b === bucket && memo !== null && memo.window === w) return memo.text;
      const text = `${head}, "quota";q=${plan.quota.limit};w=${Math.round((w.end - w.start) / 1000)}`;
      if (b === bucket) memo = { window: w, text };
      return text;
    },
  };
}

/**
 * Every plan, in memory. Invalidation rule: a change made on this node is applied before its
 * admin call returns; changes from other nodes arrive on the ChangeBus (`plan` reloads one plan,
 * `reset` all); as a safety net everything is reloaded every 30 s, or every second while the
 * bus is disconnected.
 */
export class PlanDirectory {
  private byId = new Map<string, CompiledPlan>();
  private byName = new Map<string, CompiledPlan>();
  private timer: NodeJS.Timeout | null = null;
  private lastFull = 0;
  /** Bumped by every change applied: a full reload that overlapped one is discarded. */
  private generation = 0;

  constructor(
    private readonly store: PlanStore,
    private readonly bus: ChangeBus,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Config `defaultPlan`: the plan of keys without one. */
    readonly defaultName: string | null,
  ) {
    bus.subscribe((change) => {
      if (change.kind === 'plan') void this.reload(change.id);
      else if (change.kind === 'reset') void this.loadAll();
    });
  }

  async start(): Promise<void> {
    await this.loadAll();
    if (this.defaultName && !this.byName.has(this.defaultName)) {
      this.logger.warn({ defaultPlan: this.defaultName }, 'defaultPlan names no existing plan: keys without a plan have no limits until it is created');
    }
    this.timer = setInterval(() => {
      const every = this.bus.connected ? 30_000 : 1000;
      if (this.clock.now() - this.lastFull >= every) void this.loadAll();
    }, 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  get(id: string): CompiledPlan | undefined {
    return this.byId.get(id);
  }

  byPlanName(name: string): CompiledPlan | undefined {
    return this.byName.get(name);
  }

  /** The plan a key works under: its own, else the configured default, else none. */
  effective(planId: string | null): CompiledPlan | null {
    if (planId !== null) {
      const own = this.byId.get(planId);
      if (own) return own;
    }
    return this.defaultName === null ? null : (this.byName.get(this.defaultName) ?? null);
  }

  /** Applies a plan as stored (after a change on this node), or removes it (`null`). */
  apply(id: string, plan: Plan | null): void {
    this.generation++;
    const old = this.byId.get(id);
    if (old) this.byName.delete(old.plan.name);
    if (plan === null) {
      this.byId.delete(id);
      return;
    }
    const compiled = compilePlan(plan);
    this.byId.set(id, compiled);
    this.byName.set(plan.name, compiled);
  }

  private async reload(id: string): Promise<void> {
    try {
      this.apply(id, await this.store.get(id));
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, plan: id }, 'plan reload failed; retrying with the next full reload');
      this.lastFull = 0;
    }
  }

  private async loadAll(): Promise<void> {
    const generation = this.generation;
    try {
      const plans = await this.store.all();
      if (generation !== this.generation) {
        // A change landed meanwhile: this snapshot may predate it; try again shortly.
        this.lastFull = 0;
        return;
      }
      const byId = new Map<string, CompiledPlan>();
      const byName = new Map<string, CompiledPlan>();
      for (const plan of plans) {
        const compiled = compilePlan(plan);
        byId.set(plan.id, compiled);
        byName.set(plan.name, compiled);
      }
      this.byId = byId;
      this.byName = byName;
      this.lastFull = this.clock.now();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'plans not reloaded (database unreachable); keeping the ones in memory');
    }
  }
}
