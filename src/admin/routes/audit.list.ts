import { Type } from '@sinclair/typebox';
import type { AdminApp, AdminDeps } from '../server.js';
import { AuditEntry, CommonErrors, Page, PageQuery, Timestamp } from '../schemas.js';

export function auditList(app: AdminApp, { stores }: AdminDeps): void {
  app.get(
    '/v1/audit',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['audit'],
        summary: 'The audit log, newest first',
        querystring: Type.Object(
          {
            target: Type.Optional(Type.String({ maxLength: 100 })),
            action: Type.Optional(Type.String({ maxLength: 100 })),
            actor: Type.Optional(Type.String({ maxLength: 100 })),
            from: Type.Optional(Timestamp),
            to: Type.Optional(Timestamp),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(AuditEntry), ...CommonErrors },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await stores.audit.list({
        target: q.target,
        action: q.action,
        actor: q.actor,
        from: q.from ? Date.parse(q.from) : undefined,
        to: q.to ? Date.parse(q.to) : undefined,
        limit: q.limit ?? 50,
        cursor: q.cursor,
      });
      return { items: page.items.map((e) => ({ ...e, ts: new Date(e.ts).toISOString() })), nextCursor: page.nextCursor };
    },
  );
}
