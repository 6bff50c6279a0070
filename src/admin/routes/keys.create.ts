import { Type } from '@sinclair/typebox';
import type { AdminApp, AdminDeps } from '../server.js';
import { CommonErrors, Description, Id, IssuedKey, Metadata, Name, Timestamp } from '../schemas.js';

export const KeyEnvironment = Type.Union([Type.Literal('live'), Type.Literal('test')]);

export function keysCreate(app: AdminApp, { keys }: AdminDeps): void {
  app.post(
    '/v1/keys',
    {
      config: { scope: 'write' },
      schema: {
        tags: ['keys'],
        summary: 'Create (or import) an API key; the answer holds its plaintext, this once',
        body: Type.Object(
          {
            appId: Id,
            planId: Type.Optional(Id),
            name: Type.Optional(Name),
            description: Type.Optional(Description),
            expiresAt: Type.Optional(Timestamp),
            metadata: Type.Optional(Metadata),
            environment: Type.Optional(KeyEnvironment),
            key: Type.Optional(Type.String({ description: 'import this value instead of generating one (20-256 printable ASCII)' })),
          },
          { additionalProperties: false },
        ),
        response: { 201: IssuedKey, ...CommonErrors },
      },
    },
    async (request, reply) => {
      const { expiresAt, ...rest } = request.body;
      const issued = await keys.create(request.caller!.actor, {
        ...rest,
        expiresAt: expiresAt === undefined ? undefined : Date.parse(expiresAt),
      });
      return reply.status(201).header('cache-control', 'no-store').send(issued);
    },
  );
}
