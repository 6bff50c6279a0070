import { Type } from '@sinclair/typebox';
import type { AdminApp, AdminDeps } from '../server.js';
import { App, CommonErrors, IdParams, Name, NullableMetadata } from '../schemas.js';

export function appsUpdate(app: AdminApp, { apps }: AdminDeps): void {
  app.patch(
    '/v1/apps/:id',
    {
      config: { scope: 'write' },
      schema: {
        tags: ['apps'],
        summary: 'Change an application',
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Name),
            description: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
            metadata: Type.Optional(NullableMetadata),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: App, ...CommonErrors },
      },
    },
    async (request) => apps.update(request.caller!.actor, request.params.id, request.body),
  );
}
