import type { RequestContext, Stage, StageResult } from './context.js';

export type Pipeline = (ctx: RequestContext) => StageResult | Promise<StageResult>;

/**
 * Runs the stages in their fixed order, stopping at the first refusal. Synchronous stages
 * stay synchronous: a promise appears only once a stage returns one, so the warm-cache path
 * allocates none.
 */
export function compose(stages: readonly Stage[]): Pipeline {
  const run = (ctx: RequestContext, from: number): StageResult | Promise<StageResult> => {
    for (let i = from; i < stages.length; i++) {
      const result = stages[i]!.run(ctx);
      if (result instanceof Promise) {
        return result.then((r) => (r !== undefined ? r : run(ctx, i + 1)));
      }
      if (result !== undefined) return result;
    }
    return undefined;
  };
  return (ctx) => run(ctx, 0);
}
