import { Type, type TSchema } from '@sinclair/typebox';

/**
 * Schemas of the admin API. The same objects validate requests (ajv) and produce the OpenAPI
 * document (@fastify/swagger), so the documentation cannot drift from what is enforced.
 */

export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
export const IdParams = Type.Object({ id: Id });
export const Timestamp = Type.String({ format: 'date-time' });
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
export const Metadata = Type.Record(Type.String(), Type.Unknown(), { description: 'free JSON object, at most 4 KiB' });
export const NullableMetadata = Type.Union([Metadata, Type.Null()]);
export const Name = Type.String({ minLength: 1, maxLength: 200 });

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200, pattern: '^[A-Za-z0-9_-]*$' })),
};

export function Page<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });
}

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String(),
    detail: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { additionalProperties: true },
);

/** Error answers every authenticated route may give. */
export const CommonErrors = {
  400: Problem,
  401: Problem,
  403: Problem,
  404: Problem,
  409: Problem,
};

export const App = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  metadata: NullableMetadata,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const KeyStatus = Type.Union([Type.Literal('active'), Type.Literal('disabled'), Type.Literal('expired'), Type.Literal('revoked')]);

export const Key = Type.Object({
  id: Type.String(),
  appId: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  hint: Type.String({ description: 'non-secret reminder: prefix and last 4 characters' }),
  status: KeyStatus,
  enabled: Type.Boolean(),
  planId: Type.Union([Type.String(), Type.Null()]),
  metadata: NullableMetadata,
  expiresAt: NullableTimestamp,
  revokedAt: NullableTimestamp,
  rotatedFrom: Type.Union([Type.String(), Type.Null()]),
  replacedBy: Type.Union([Type.String(), Type.Null()]),
  description: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const Description = Type.String({ maxLength: 2000 });

export const IssuedKey = Type.Intersect([
  Key,
  Type.Object({ key: Type.String({ description: 'the key plaintext; shown this once and never again' }) }),
]);

export const Scope = Type.Union([Type.Literal('read'), Type.Literal('write'), Type.Literal('admin')]);

export const AdminToken = Type.Object({
  id: Type.String(),
  name: Type.String(),
  hint: Type.String(),
  scopes: Type.Array(Scope),
  createdAt: Timestamp,
  revokedAt: NullableTimestamp,
});

export const AuditEntry = Type.Object({
  id: Type.String(),
  ts: Timestamp,
  actor: Type.String(),
  action: Type.String(),
  target: Type.String(),
  before: NullableMetadata,
  after: NullableMetadata,
});

export const PlanName = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.-]+$' });
export const Rate = Type.Number({ minimum: 0.0001, maximum: 1_000_000, description: 'tokens per second (at least 0.0001: one per 10,000 s)' });
export const Burst = Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'bucket size' });
export const Period = Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')]);

export const QuotaInput = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1_000_000_000_000 }),
    period: Period,
    offset: Type.Optional(Type.String({ maxLength: 20, description: 'wall-clock shift of the window start, e.g. 6h or 14d' })),
  },
  { additionalProperties: false },
);

export const OverrideInput = Type.Object(
  {
    route: Type.String({ minLength: 1, maxLength: 200 }),
    method: Type.Optional(Type.String({ pattern: '^[A-Za-z]+$', maxLength: 20 })),
    rate: Rate,
    burst: Burst,
  },
  { additionalProperties: false },
);

export const Plan = Type.Object({
  id: Type.String(),
  name: Type.String(),
  rate: Type.Number(),
  burst: Type.Integer(),
  quota: Type.Union([
    Type.Object({ limit: Type.Integer(), period: Period, offset: Type.Union([Type.String(), Type.Null()]) }),
    Type.Null(),
  ]),
  timezone: Type.String(),
  overrides: Type.Array(Type.Object({ route: Type.String(), method: Type.Union([Type.String(), Type.Null()]), rate: Type.Number(), burst: Type.Integer() })),
  autoSuspend: Type.Array(Type.String()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const QuotaState = Type.Object({
  planId: Type.String(),
  limit: Type.Integer(),
  used: Type.Integer(),
  remaining: Type.Integer(),
  windowStart: Timestamp,
  windowEnd: Timestamp,
});
