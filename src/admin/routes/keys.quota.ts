import { Type } from '@sinclair/typebox';
import { PublicError } from '../../errors/codes.js';
import type { AdminApp, AdminDeps } from '../server.js';
import { CommonErrors, IdParams, QuotaState } from '../schemas.js';

export function keysQuota(app: AdminApp, { keys, limiter }: AdminDeps): void {
  const noQuota = (id: string) => new PublicError('not_found', `key ${id} has no quota (its plan has none, or it has no plan)`);
  app.get(
    '/v1/keys/:id/quota',
    {
      config: { scope: 'read' },
      schema: { tags: ['keys'], summary: "A key's quota in the current window", params: IdParams, response: { 200: QuotaState, ...CommonErrors } },
    },
    async (request) => {
      const key = await keys.require(request.params.id);
      return (await limiter.quota(key.lineageId, key.planId)) ?? Promise.reject(noQuota(key.id));
    },
  );
  app.post(
    '/v1/keys/:id/quota',
    {
      config: { scope: 'write' },
      schema: {
        tags: ['keys'],
        summary: "Reset a key's quota usage for the current window, or add to it (negative: grant calls)",
        params: IdParams,
        body: Type.Union([
          Type.Object({ reset: Type.Literal(true) }, { additionalProperties: false }),
          Type.Object({ add: Type.Integer({ minimum: -1_000_000_000, maximum: 1_000_000_000 }) }, { additionalProperties: false }),
        ]),
        response: { 200: QuotaState, ...CommonErrors },
      },
    },
    async (request) => {
      const key = await keys.require(request.params.id);
      const before = await limiter.quota(key.lineageId, key.planId);
      if (before === null) throw noQuota(key.id);
      const change = 'reset' in request.body ? { reset: true as const } : { add: request.body.add };
      const after = (await limiter.adjustQuota(key.lineageId, key.planId, change))!;
      await keys.audit(request.caller!.actor, 'key.quota', key.id, before, after);
      return after;
    },
  );
}
