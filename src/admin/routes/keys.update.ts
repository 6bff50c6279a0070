import { Type } from '@sinclair/typebox';
import type { AdminApp, AdminDeps } from '../server.js';
import { CommonErrors, Description, Id, IdParams, Key, Name, NullableMetadata, NullableTimestamp } from '../schemas.js';

export function keysUpdate(app: AdminApp, { keys }: AdminDeps): void {
  app.patch(
    '/v1/keys/:id',
    {
      config: { scope: 'write' },
      schema: {
        tags: ['keys'],
        summary: 'Change a key: name, plan, enabled, metadata, expiry',
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Type.Union([Name, Type.Null()])),
            description: Type.Optional(Type.Union([Description, Type.Null()])),
            planId: Type.Optional(Type.Union([Id, Type.Null()])),
            enabled: Type.Optional(Type.Boolean()),
            metadata: Type.Optional(NullableMetadata),
            expiresAt: Type.Optional(NullableTimestamp),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Key, ...CommonErrors },
      },
    },
    async (request) => {
      const { expiresAt, ...rest } = request.body;
      return keys.update(request.caller!.actor, request.params.id, {
        ...rest,
        ...(expiresAt !== undefined ? { expiresAt: expiresAt === null ? null : Date.parse(expiresAt) } : {}),
      });
    },
  );
  for (const action of ['disable', 'enable'] as const) {
    app.post(
      `/v1/keys/:id/${action}`,
      {
        config: { scope: 'write' },
        schema: { tags: ['keys'], summary: `${action[0]!.toUpperCase()}${action.slice(1)} a key`, params: IdParams, response: { 200: Key, ...CommonErrors } },
      },
      async (request) => keys.setEnabled(request.caller!.actor, request.params.id, action === 'enable'),
    );
  }
}
