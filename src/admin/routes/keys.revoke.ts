import type { AdminApp, AdminDeps } from '../server.js';
import { CommonErrors, IdParams, Key } from '../schemas.js';

export function keysRevoke(app: AdminApp, { keys }: AdminDeps): void {
  const options = {
    config: { scope: 'write' as const },
    schema: {
      tags: ['keys'],
      summary: 'Revoke a key: it stops working on every node within a second',
      params: IdParams,
      response: { 200: Key, ...CommonErrors },
    },
  };
  app.post('/v1/keys/:id/revoke', options, async (request) => keys.revoke(request.caller!.actor, request.params.id));
  app.delete('/v1/keys/:id', options, async (request) => keys.revoke(request.caller!.actor, request.params.id));
}
