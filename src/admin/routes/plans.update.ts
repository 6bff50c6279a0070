import { Type } from '@sinclair/typebox';
import type { AdminApp, AdminDeps } from '../server.js';
import { CommonErrors, IdParams, Plan } from '../schemas.js';
import { PlanBody } from './plans.create.js';

export function plansUpdate(app: AdminApp, { plans }: AdminDeps): void {
  app.patch(
    '/v1/plans/:id',
    {
      config: { scope: 'write' },
      schema: {
        tags: ['plans'],
        summary: 'Change a usage plan; every node applies it within a second',
        params: IdParams,
        body: Type.Partial(Type.Object(PlanBody), { additionalProperties: false, minProperties: 1 }),
        response: { 200: Plan, ...CommonErrors },
      },
    },
    async (request) => plans.update(request.caller!.actor, request.params.id, request.body),
  );
  app.delete(
    '/v1/plans/:id',
    {
      config: { scope: 'write' },
      schema: { tags: ['plans'], summary: 'Delete a usage plan no key uses (409 otherwise)', params: IdParams, response: { 204: Type.Null(), ...CommonErrors } },
    },
    async (request, reply) => {
      await plans.delete(request.caller!.actor, request.params.id);
      return reply.status(204).send(null);
    },
  );
}
