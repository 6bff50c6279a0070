import type { AdminApp, AdminDeps } from '../server.js';

export function metrics(app: AdminApp, { metrics, metricsPublic }: AdminDeps): void {
  app.get(
    '/metrics',
    {
      config: metricsPublic ? { public: true } : { scope: 'read' },
      schema: { tags: ['monitoring'], summary: 'Prometheus metrics (needs a read token unless admin.metricsPublic)', hide: false },
    },
    async (_request, reply) => reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}
