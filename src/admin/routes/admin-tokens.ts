import { Type } from '@sinclair/typebox';
import type { AdminApp, AdminDeps } from '../server.js';
import { AdminToken, CommonErrors, IdParams, Name, Page, PageQuery, Scope } from '../schemas.js';

export function adminTokens(app: AdminApp, { tokens }: AdminDeps): void {
  app.post(
    '/v1/admin-tokens',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['admin tokens'],
        summary: 'Create an admin token; the answer holds its plaintext, this once',
        body: Type.Object({ name: Name, scopes: Type.Array(Scope, { minItems: 1 }) }, { additionalProperties: false }),
        response: { 201: Type.Intersect([AdminToken, Type.Object({ token: Type.String() })]), ...CommonErrors },
      },
    },
    async (request, reply) => reply.status(201).header('cache-control', 'no-store').send(await tokens.create(request.caller!.actor, request.body)),
  );
  app.get(
    '/v1/admin-tokens',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['admin tokens'],
        summary: 'List admin tokens',
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: Page(AdminToken), ...CommonErrors },
      },
    },
    async (request) => tokens.list({ limit: request.query.limit ?? 50, cursor: request.query.cursor }),
  );
  const revoke = {
    config: { scope: 'admin' as const },
    schema: { tags: ['admin tokens'], summary: 'Revoke an admin token', params: IdParams, response: { 200: AdminToken, ...CommonErrors } },
  };
  app.post('/v1/admin-tokens/:id/revoke', revoke, async (request) => tokens.revoke(request.caller!.actor, request.params.id));
  app.delete('/v1/admin-tokens/:id', revoke, async (request) => tokens.revoke(request.caller!.actor, request.params.id));
}
