import { Type } from '@sinclair/typebox';
import { AlertTypeSchema } from '../../config/schema.js';
import { PublicError } from '../../errors/codes.js';
import { alertView } from '../../monitor/detect/service.js';
import type { AdminApp, AdminDeps } from '../server.js';
import { CommonErrors, Id, IdParams, Metadata, NullableTimestamp, Page, PageQuery, Timestamp } from '../schemas.js';

const Alert = Type.Object({
  id: Type.String(),
  ts: Timestamp,
  type: Type.String(),
  severity: Type.String(),
  keyId: Type.Union([Type.String(), Type.Null()]),
  appId: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  detail: Metadata,
  suspended: Type.Boolean(),
  acknowledgedAt: NullableTimestamp,
  acknowledgedBy: Type.Union([Type.String(), Type.Null()]),
});

export function alerts(app: AdminApp, { stores, auditor, clock }: AdminDeps): void {
  app.get(
    '/v1/alerts',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['alerts'],
        summary: 'Alerts of the abuse detectors, newest first',
        querystring: Type.Object(
          {
            keyId: Type.Optional(Id),
            appId: Type.Optional(Id),
            type: Type.Optional(AlertTypeSchema),
            status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('acknowledged')])),
            from: Type.Optional(Timestamp),
            to: Type.Optional(Timestamp),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(Alert), ...CommonErrors },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await stores.alerts.list({
        keyId: q.keyId,
        appId: q.appId,
        type: q.type,
        status: q.status,
        from: q.from ? Date.parse(q.from) : undefined,
        to: q.to ? Date.parse(q.to) : undefined,
        limit: q.limit ?? 50,
        cursor: q.cursor,
      });
      return { items: page.items.map(alertView), nextCursor: page.nextCursor };
    },
  );
  app.get(
    '/v1/alerts/:id',
    { config: { scope: 'read' }, schema: { tags: ['alerts'], summary: 'Show an alert', params: IdParams, response: { 200: Alert, ...CommonErrors } } },
    async (request) => {
      const alert = await stores.alerts.get(request.params.id);
      if (!alert) throw new PublicError('not_found', `no alert with id ${request.params.id}`);
      return alertView(alert);
    },
  );
  app.post(
    '/v1/alerts/:id/ack',
    {
      config: { scope: 'write' },
      schema: { tags: ['alerts'], summary: 'Acknowledge an alert (someone is on it)', params: IdParams, response: { 200: Alert, ...CommonErrors } },
    },
    async (request) => {
      const before = await stores.alerts.get(request.params.id);
      if (!before) throw new PublicError('not_found', `no alert with id ${request.params.id}`);
      if (before.acknowledgedAt !== null) return alertView(before);
      const after = (await stores.alerts.acknowledge(before.id, request.caller!.actor, clock.now()))!;
      await auditor.record(request.caller!.actor, 'alert.acknowledge', before.id, alertView(before), alertView(after));
      return alertView(after);
    },
  );
}
