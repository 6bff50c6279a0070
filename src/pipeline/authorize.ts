import type { PlanDirectory } from '../plans/directory.js';
import type { Refusal, RequestContext, Stage, StageResult } from './context.js';

/** Refuses a key whose plan the route does not list (routes with `plans: ["*"]` take any key). */
export class AuthorizeRoute implements Stage {
  readonly name = 'authorize route';

  constructor(private readonly plans: PlanDirectory) {}

  run(ctx: RequestContext): StageResult {
    const allowed = ctx.route.plans;
    if (allowed === null) return undefined;
    const plan = this.plans.effective(ctx.principal!.planId);
    if (plan !== null && allowed.has(plan.plan.name)) return undefined;
    const refusal: Refusal = {
      code: 'route_not_allowed',
      detail: plan === null ? 'this route needs a usage plan and the key has none' : `plan "${plan.plan.name}" may not call this route`,
    };
    return refusal;
  }
}
