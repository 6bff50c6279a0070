import { Type } from '@sinclair/typebox';
import type { AdminApp, AdminDeps } from '../server.js';
import { CommonErrors, IdParams, IssuedKey, Timestamp } from '../schemas.js';

export function keysRotate(app: AdminApp, { keys }: AdminDeps): void {
  app.post(
    '/v1/keys/:id/rotate',
    {
      config: { scope: 'write' },
      schema: {
        tags: ['keys'],
        summary: 'Rotate a key: a new key for the same app, plan and metadata (plaintext shown once); the old one works until the grace period ends',
        params: IdParams,
        body: Type.Object(
          { graceSeconds: Type.Integer({ minimum: 0, maximum: 366 * 86_400, description: 'how long the old key keeps working; 0 ends it at once' }) },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Intersect([IssuedKey, Type.Object({ previous: Type.Object({ id: Type.String(), expiresAt: Timestamp }) })]),
          ...CommonErrors,
        },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .header('cache-control', 'no-store')
        .send(await keys.rotate(request.caller!.actor, request.params.id, request.body.graceSeconds * 1000)),
  );
}
