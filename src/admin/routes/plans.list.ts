import { Type } from '@sinclair/typebox';
import type { AdminApp, AdminDeps } from '../server.js';
import { CommonErrors, IdParams, Page, PageQuery, Plan } from '../schemas.js';

export function plansList(app: AdminApp, { plans }: AdminDeps): void {
  app.get(
    '/v1/plans',
    {
      config: { scope: 'read' },
      schema: { tags: ['plans'], summary: 'List usage plans', querystring: Type.Object(PageQuery, { additionalProperties: false }), response: { 200: Page(Plan), ...CommonErrors } },
    },
    async (request) => plans.list({ limit: request.query.limit ?? 50, cursor: request.query.cursor }),
  );
  app.get(
    '/v1/plans/:id',
    { config: { scope: 'read' }, schema: { tags: ['plans'], summary: 'Show a usage plan', params: IdParams, response: { 200: Plan, ...CommonErrors } } },
    async (request) => plans.get(request.params.id),
  );
}
