import { Type } from '@sinclair/typebox';
import type { AdminApp, AdminDeps } from '../server.js';
import { CommonErrors, Id, IdParams, Key, KeyStatus, Page, PageQuery } from '../schemas.js';

export function keysList(app: AdminApp, { keys }: AdminDeps): void {
  app.get(
    '/v1/keys',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['keys'],
        summary: 'List keys (never their plaintext)',
        querystring: Type.Object({ appId: Type.Optional(Id), status: Type.Optional(KeyStatus), ...PageQuery }, { additionalProperties: false }),
        response: { 200: Page(Key), ...CommonErrors },
      },
    },
    async (request) => {
      const { appId, status, limit, cursor } = request.query;
      return keys.list({ appId, status, limit: limit ?? 50, cursor });
    },
  );
  app.get(
    '/v1/keys/:id',
    {
      config: { scope: 'read' },
      schema: { tags: ['keys'], summary: 'Show a key', params: IdParams, response: { 200: Key, ...CommonErrors } },
    },
    async (request) => keys.get(request.params.id),
  );
}
