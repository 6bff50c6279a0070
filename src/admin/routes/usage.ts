import { Type } from '@sinclair/typebox';
import type { AdminApp, AdminDeps } from '../server.js';
import { CommonErrors, Id, Timestamp } from '../schemas.js';

const Point = Type.Object({
  ts: Timestamp,
  requests: Type.Integer(),
  admitted: Type.Integer(),
  errors: Type.Integer(),
  s2xx: Type.Integer(),
  s4xx: Type.Integer(),
  s5xx: Type.Integer(),
  throttled: Type.Integer(),
  quotaExceeded: Type.Integer(),
  authRefused: Type.Integer(),
  bytesIn: Type.Integer(),
  bytesOut: Type.Integer(),
  p50: Type.Union([Type.Number(), Type.Null()]),
  p95: Type.Union([Type.Number(), Type.Null()]),
  p99: Type.Union([Type.Number(), Type.Null()]),
});

const DateOnly = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });

export function usage(app: AdminApp, { usage }: AdminDeps): void {
  app.get(
    '/v1/usage',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['usage'],
        summary: 'Usage series of a key, an app, a route or everything (one of keyId, appId, route), zero-filled',
        querystring: Type.Object(
          {
            keyId: Type.Optional(Id),
            appId: Type.Optional(Id),
            route: Type.Optional(Type.String({ maxLength: 200 })),
            from: Type.Optional(Timestamp),
            to: Type.Optional(Timestamp),
            granularity: Type.Optional(Type.Union([Type.Literal('minute'), Type.Literal('hour'), Type.Literal('day')])),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ granularity: Type.String(), scope: Type.String(), id: Type.String(), from: Timestamp, to: Timestamp, items: Type.Array(Point) }),
          ...CommonErrors,
        },
      },
    },
    async (request) => usage.series(request.query),
  );
  app.get(
    '/v1/usage/daily',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['usage'],
        summary: "Per-key daily usage in the shape of AWS API Gateway's GetUsage: items[keyId] = [[used, remaining], ...] per day",
        querystring: Type.Object(
          { startDate: DateOnly, endDate: DateOnly, keyId: Type.Optional(Id), appId: Type.Optional(Id) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            startDate: Type.String(),
            endDate: Type.String(),
            items: Type.Record(Type.String(), Type.Array(Type.Array(Type.Union([Type.Integer(), Type.Null()]), { description: '[used, remaining]' }))),
          }),
          ...CommonErrors,
        },
      },
    },
    async (request) => usage.daily(request.query),
  );
}
