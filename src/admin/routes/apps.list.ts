import { Type } from '@sinclair/typebox';
import { appView } from '../../apps/service.js';
import type { AdminApp, AdminDeps } from '../server.js';
import { App, CommonErrors, IdParams, Page, PageQuery } from '../schemas.js';

export function appsList(app: AdminApp, { apps }: AdminDeps): void {
  app.get(
    '/v1/apps',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['apps'],
        summary: 'List applications',
        querystring: Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), ...PageQuery }, { additionalProperties: false }),
        response: { 200: Page(App), ...CommonErrors },
      },
    },
    async (request) => {
      const { name, limit, cursor } = request.query;
      if (name !== undefined) {
        const found = await apps.resolve(name);
        return { items: found && found.name === name ? [appView(found)] : [], nextCursor: null };
      }
      return apps.list({ limit: limit ?? 50, cursor });
    },
  );
  app.get(
    '/v1/apps/:id',
    {
      config: { scope: 'read' },
      schema: { tags: ['apps'], summary: 'Show an application', params: IdParams, response: { 200: App, ...CommonErrors } },
    },
    async (request) => apps.get(request.params.id),
  );
}
