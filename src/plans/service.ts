import type { Actor, Auditor } from '../admin/audit.js';
import type { Clock } from '../clock.js';
import { invalidField, PublicError } from '../errors/codes.js';
import { parseDuration } from '../duration.js';
import { newId } from '../ids.js';
import { scheduleProblem, type Period } from '../limits/quota-window.js';
import type { ChangeBus } from '../store/bus.js';
import type { KeyStore, Page, PageRequest, Plan, PlanChanges, PlanStore, QuotaSpec, ThrottleOverride } from '../store/interface.js';
import type { PlanDirectory } from './directory.js';

/** A plan as the admin API shows it: the stored plan with ISO timestamps. */
export interface PlanView extends Omit<Plan, 'createdAt' | 'updatedAt'> {
  createdAt: string;
  updatedAt: string;
}

export interface PlanInput {
  name?: string | undefined;
  rate?: number | undefined;
  burst?: number | undefined;
  quota?: { limit: number; period: Period; offset?: string | undefined } | null | undefined;
  timezone?: string | undefined;
  overrides?: Array<{ route: string; method?: string | undefined; rate: number; burst: number }> | undefined;
  autoSuspend?: string[] | undefined;
}

export function planView(p: Plan): PlanView {
  return {
    id: p.id,
    name: p.name,
    rate: p.rate,
    burst: p.burst,
    quota: p.quota,
    timezone: p.timezone,
    overrides: p.overrides,
    autoSuspend: p.autoSuspend,
    createdAt: new Date(p.createdAt).toISOString(),
    updatedAt: new Date(p.updatedAt).toISOString(),
  };
}

/**
 * Usage plans: create, list, update, delete. Changes are audited, applied to this node's plan
 * directory before the call returns, and broadcast to the other nodes.
 */
export class PlanService {
  constructor(
    private readonly plans: PlanStore,
    private readonly keys: KeyStore,
    private readonly directory: PlanDirectory,
    private readonly auditor: Auditor,
    private readonly bus: ChangeBus,
    private readonly clock: Clock,
    /** Routes of keygate.yaml: overrides must name one, and their `plans` lists name plans. */
    private readonly routeConfigs: ReadonlyArray<{ readonly path: string; readonly plans: readonly string[] }>,
  ) {}

  private get routes(): string[] {
    return this.routeConfigs.map((r) => r.path);
  }

  async create(actor: Actor, input: PlanInput & { name: string; rate: number; burst: number }): Promise<PlanView> {
    const now = this.clock.now();
    const plan: Plan = {
      id: newId('plan', now),
      name: input.name,
      rate: input.rate,
      burst: input.burst,
      quota: this.quota(input.quota ?? null),
      timezone: input.timezone ?? 'UTC',
      overrides: this.overrides(input.overrides ?? []),
      autoSuspend: [...new Set(input.autoSuspend ?? [])],
      createdAt: now,
      updatedAt: now,
    };
    this.checkSchedule(plan);
    checkBucket('', plan);
    plan.overrides.forEach((o, i) => checkBucket(`overrides[${i}].`, o));
    await this.plans.insert(plan);
    await this.changed(plan.id, plan);
    const view = planView(plan);
    await this.auditor.record(actor, 'plan.create', plan.id, null, view);
    return view;
  }

  async list(page: PageRequest): Promise<Page<PlanView>> {
    const result = await this.plans.list(page);
    return { items: result.items.map(planView), nextCursor: result.nextCursor };
  }

  async get(id: string): Promise<PlanView> {
    return planView(await this.require(id));
  }

  /** Throws invalid_request unless `id` names a plan (for keys being assigned one). */
  async assertExists(id: string): Promise<void> {
    if (!(await this.plans.get(id))) throw invalidField('planId', `no plan with id ${id}`);
  }

  async update(actor: Actor, id: string, input: PlanInput): Promise<PlanView> {
    const before = await this.require(id);
    const changes: PlanChanges = {};
    if (input.name !== undefined) changes.name = input.name;
    if (input.rate !== undefined) changes.rate = input.rate;
    if (input.burst !== undefined) changes.burst = input.burst;
    if (input.quota !== undefined) changes.quota = this.quota(input.quota);
    if (input.timezone !== undefined) changes.timezone = input.timezone;
    if (input.overrides !== undefined) changes.overrides = this.overrides(input.overrides);
    if (input.autoSuspend !== undefined) changes.autoSuspend = [...new Set(input.autoSuspend)];
    this.checkSchedule({ ...before, ...changes });
    checkBucket('', { ...before, ...changes });
    (changes.overrides ?? []).forEach((o, i) => checkBucket(`overrides[${i}].`, o));
    if (changes.name !== undefined && changes.name !== before.name && before.name === this.directory.defaultName) {
      throw new PublicError('conflict', `plan "${before.name}" is the configured defaultPlan; change keygate.yaml before renaming it`);
    }
    const naming = changes.name !== undefined && changes.name !== before.name ? this.routeConfigs.filter((r) => r.plans.includes(before.name)) : [];
    if (naming.length > 0) {
      throw new PublicError(
        'conflict',
        `plan "${before.name}" is named in the plans of route ${naming.map((r) => r.path).join(', ')} in keygate.yaml; renamed, its keys would lose that route. Change keygate.yaml first`,
      );
    }
    const after = await this.plans.update(id, changes, this.clock.now());
    if (!after) throw new PublicError('not_found', `no plan with id ${id}`);
    await this.changed(id, after);
    const view = planView(after);
    await this.auditor.record(actor, 'plan.update', id, planView(before), view);
    return view;
  }

  async delete(actor: Actor, id: string): Promise<void> {
    const before = await this.require(id);
    const inUse = await this.keys.countByPlan(id);
    if (inUse > 0) throw new PublicError('conflict', `plan "${before.name}" is assigned to ${inUse} key(s); move them to another plan first`);
    if (before.name === this.directory.defaultName) throw new PublicError('conflict', `plan "${before.name}" is the configured defaultPlan`);
    if (!(await this.plans.delete(id))) throw new PublicError('conflict', `plan "${before.name}" was assigned to a key meanwhile`);
    await this.changed(id, null);
    await this.auditor.record(actor, 'plan.delete', id, planView(before), null);
  }

  private async changed(id: string, plan: Plan | null): Promise<void> {
    this.directory.apply(id, plan);
    await this.bus.publish({ kind: 'plan', id });
  }

  private async require(id: string): Promise<Plan> {
    const plan = await this.plans.get(id);
    if (!plan) throw new PublicError('not_found', `no plan with id ${id}`);
    return plan;
  }

  private quota(input: PlanInput['quota']): QuotaSpec | null {
    if (input == null) return null;
    if (input.offset !== undefined && parseDuration(input.offset) === null) {
      throw invalidField('quota.offset', `"${input.offset}" is not a duration such as 6h or 14d`);
    }
    return { limit: input.limit, period: input.period, offset: input.offset ?? null };
  }

  private checkSchedule(plan: Pick<Plan, 'quota' | 'timezone'>): void {
    const offsetMs = plan.quota?.offset ? parseDuration(plan.quota.offset)! : 0;
    const problem = scheduleProblem({ period: plan.quota?.period ?? 'day', timezone: plan.timezone, offsetMs });
    if (problem === null) return;
    throw invalidField(problem.startsWith('unknown time zone') ? 'timezone' : 'quota.offset', problem);
  }

  private overrides(input: NonNullable<PlanInput['overrides']>): ThrottleOverride[] {
    const seen = new Set<string>();
    return input.map((o, i) => {
      if (!this.routes.includes(o.route)) {
        throw invalidField(`overrides[${i}].route`, `no route "${o.route}" in the configuration (routes: ${this.routes.join(', ')})`);
      }
      const method = o.method ? o.method.toUpperCase() : null;
      const id = `${o.route} ${method ?? '*'}`;
      if (seen.has(id)) throw invalidField(`overrides[${i}]`, `a second override for ${id}`);
      seen.add(id);
      return { route: o.route, method, rate: o.rate, burst: o.burst };
    });
  }
}

/** A bucket takes at most 10^9 s to fill: its state stays an exact integer of microseconds. */
function checkBucket(prefix: string, b: { rate: number; burst: number }): void {
  if (b.burst / b.rate > 1e9) throw invalidField(`${prefix}burst`, 'burst / rate must be at most 1e9 seconds');
}
