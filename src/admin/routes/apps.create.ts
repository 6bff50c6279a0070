import { Type } from '@sinclair/typebox';
import type { AdminApp, AdminDeps } from '../server.js';
import { App, CommonErrors, Metadata, Name } from '../schemas.js';

export function appsCreate(app: AdminApp, { apps }: AdminDeps): void {
  app.post(
    '/v1/apps',
    {
      config: { scope: 'write' },
      schema: {
        tags: ['apps'],
        summary: 'Create an application',
        body: Type.Object(
          { name: Name, description: Type.Optional(Type.String({ maxLength: 2000 })), metadata: Type.Optional(Metadata) },
          { additionalProperties: false },
        ),
        response: { 201: App, ...CommonErrors },
      },
    },
    async (request, reply) => reply.status(201).send(await apps.create(request.caller!.actor, request.body)),
  );
}
