import { Type } from '@sinclair/typebox';
import { AlertTypeSchema } from '../../config/schema.js';
import type { AdminApp, AdminDeps } from '../server.js';
import { Burst, CommonErrors, OverrideInput, Plan, PlanName, QuotaInput, Rate } from '../schemas.js';

export const PlanBody = {
  name: PlanName,
  rate: Rate,
  burst: Burst,
  quota: Type.Optional(Type.Union([QuotaInput, Type.Null()])),
  timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'IANA zone of the quota windows (default UTC)' })),
  overrides: Type.Optional(Type.Array(OverrideInput, { maxItems: 100 })),
  autoSuspend: Type.Optional(Type.Array(AlertTypeSchema, { description: 'alert types that disable a key of this plan at once' })),
};

export function plansCreate(app: AdminApp, { plans }: AdminDeps): void {
  app.post(
    '/v1/plans',
    {
      config: { scope: 'write' },
      schema: {
        tags: ['plans'],
        summary: 'Create a usage plan: throttle (rate, burst), optional quota, per-route overrides',
        body: Type.Object(PlanBody, { additionalProperties: false }),
        response: { 201: Plan, ...CommonErrors },
      },
    },
    async (request, reply) => reply.status(201).send(await plans.create(request.caller!.actor, request.body)),
  );
}
