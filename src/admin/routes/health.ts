import { Type } from '@sinclair/typebox';
import type { AdminApp, AdminDeps } from '../server.js';

export function health(app: AdminApp, { stores }: AdminDeps): void {
  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'Liveness and store reachability (no token needed)',
        security: [],
        response: { 200: Type.Object({ status: Type.String(), storage: Type.String() }), 503: Type.Object({ status: Type.String(), storage: Type.String() }) },
      },
    },
    async (_request, reply) => {
      const up = await stores.ping();
      return reply.status(up ? 200 : 503).send({ status: up ? 'ok' : 'degraded', storage: up ? 'up' : 'down' });
    },
  );
}
