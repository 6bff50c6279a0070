import { Type } from '@sinclair/typebox';
import type { AdminApp, AdminDeps } from '../server.js';
import { CommonErrors } from '../schemas.js';

const Limit = Type.Union([Type.Object({ limit: Type.Integer(), remaining: Type.Integer(), reset: Type.Integer({ description: 'seconds' }) }), Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);

export function keysVerify(app: AdminApp, { verification }: AdminDeps): void {
  app.post(
    '/v1/keys/verify',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['keys'],
        summary: 'Verify a key as a proxied call would be (counts toward throttle and quota); a refused key is a 200 answer with valid=false',
        body: Type.Object(
          {
            key: Type.String({ maxLength: 4096 }),
            route: Type.Optional(Type.String({ maxLength: 2048, pattern: '^/', description: 'the request path, matched against the routes' })),
            method: Type.Optional(Type.String({ pattern: '^[A-Za-z]+$', maxLength: 20 })),
            ip: Type.Optional(Type.String({ maxLength: 64, description: "the end client's address, for guessing protection and the detectors" })),
            host: Type.Optional(Type.String({ maxLength: 255, description: 'the Host the call was made to (for routes matched by host)' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            valid: Type.Boolean(),
            code: Type.String(),
            keyId: NullableString,
            appId: NullableString,
            planId: NullableString,
            ratelimit: Limit,
            quota: Limit,
          }),
          ...CommonErrors,
        },
      },
    },
    async (request, reply) => reply.header('cache-control', 'no-store').send(await verification.verify(request.body)),
  );
}
