import { Type, type Static } from '@sinclair/typebox';

/** The shape of keygate.yaml. Defaults here are the embedded defaults of PRODUCT.md §1. */

const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const Host = Type.String({ minLength: 1 });

export const AlertTypeSchema = Type.Union(
  ['usage_spike', 'new_location', 'unusual_time', 'error_burst', 'key_sharing', 'invalid_key_flood'].map((t) => Type.Literal(t)),
);

export const RouteSchema = Type.Object(
  {
    path: Type.String({ pattern: '^/', description: 'path prefix; longest prefix wins' }),
    upstream: Type.String({ minLength: 1, description: 'http(s)://host:port/base or builtin:echo' }),
    methods: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z]+$' }), { minItems: 1 })),
    host: Type.Optional(Type.String({ minLength: 1 })),
    keySources: Type.Array(Type.String({ pattern: '^(header|bearer|query:[A-Za-z0-9_.-]+)$' }), {
      minItems: 1,
      default: ['header'],
    }),
    plans: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, default: ['*'] }),
    timeoutMs: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 30_000 }),
    stripPrefix: Type.Boolean({ default: true }),
    forwardMetadata: Type.Boolean({ default: false, description: 'send the key metadata upstream as x-keygate-key-metadata' }),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    proxy: Type.Object(
      {
        host: Host,
        port: Port,
        trustProxy: Type.Boolean({ default: false, description: 'take the client address from X-Forwarded-For' }),
        upstreamConnections: Type.Integer({ minimum: 1, maximum: 10_000, default: 128 }),
        shutdownTimeoutMs: Type.Integer({ minimum: 0, default: 30_000 }),
      },
      { additionalProperties: false, default: { host: '127.0.0.1', port: 8080 } },
    ),
    admin: Type.Object(
      {
        host: Host,
        port: Port,
        metricsPublic: Type.Boolean({ default: false }),
        /** The web dashboard at /dashboard/ (its API calls need an admin token like any other). */
        dashboard: Type.Boolean({ default: true }),
      },
      { additionalProperties: false, default: { host: '127.0.0.1', port: 8081 } },
    ),
    dataDir: Type.String({ minLength: 1, default: './data' }),
    storage: Type.Object(
      {
        sqlite: Type.Optional(Type.String({ minLength: 1, description: 'SQLite file path' })),
        postgres: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'PostgreSQL connection URL' })),
      },
      { additionalProperties: false, default: {} },
    ),
    /** A URL string in the file; normalised to this object before validation. */
    redis: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^rediss?://' }),
          failClosed: Type.Boolean({ default: false }),
          prefix: Type.String({ pattern: '^[A-Za-z0-9:_.-]{0,64}$', default: 'keygate:' }),
        },
        { additionalProperties: false },
      ),
    ),
    keys: Type.Object(
      {
        prefix: Type.String({ pattern: '^[a-z]{1,10}$', default: 'kg' }),
        environment: Type.String({ pattern: '^(live|test)$', default: 'live' }),
        cacheTtlSeconds: Type.Number({ exclusiveMinimum: 0, default: 30 }),
        cacheMaxEntries: Type.Integer({ minimum: 1, default: 1_000_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    defaultPlan: Type.Optional(Type.String({ minLength: 1, description: 'plan name for keys without a plan' })),
    guard: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        maxInvalid: Type.Integer({ minimum: 1, default: 20, description: 'invalid or malformed keys from one address within the window that block it' }),
        windowSeconds: Type.Integer({ minimum: 1, default: 60 }),
        blockSeconds: Type.Integer({ minimum: 1, default: 300 }),
      },
      { additionalProperties: false, default: {} },
    ),
    routes: Type.Array(RouteSchema, {
      default: [{ path: '/demo', upstream: 'builtin:echo' }],
    }),
    monitoring: Type.Object(
      {
        flushSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 60, default: 2, description: 'how often usage is written to the database' }),
        bufferSize: Type.Integer({ minimum: 1000, default: 100_000, description: 'usage events held between aggregation passes' }),
        retention: Type.Object(
          {
            minute: Type.String({ default: '2d' }),
            hour: Type.String({ default: '90d' }),
            day: Type.String({ default: '730d' }),
          },
          { additionalProperties: false, default: {} },
        ),
        metricsPerKey: Type.Boolean({ default: false, description: 'label request metrics with key ids (cardinality!)' }),
        detection: Type.Boolean({ default: true, description: 'run the abuse detectors' }),
        geoDb: Type.Optional(Type.String({ minLength: 1, description: 'MaxMind-format database (default: the CC0 country database shipped with Keygate)' })),
        webhook: Type.Optional(Type.String({ pattern: '^https?://', description: 'alerts are POSTed here as JSON' })),
        webhookSecret: Type.Optional(Type.String({ minLength: 16, description: 'HMAC-SHA256 key of x-keygate-signature (or KEYGATE_WEBHOOK_SECRET)' })),
        autoSuspend: Type.Array(AlertTypeSchema, { default: [], description: 'alert types that disable the key at once, for every plan' }),
        detectors: Type.Object(
          {
            calmMinutes: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
            spike: Type.Optional(Type.Partial(Type.Object({ alpha: Type.Number(), warmupMinutes: Type.Number(), minCalls: Type.Number(), factor: Type.Number(), sigmas: Type.Number() }), { additionalProperties: false })),
            errors: Type.Optional(Type.Partial(Type.Object({ alpha: Type.Number(), warmupMinutes: Type.Number(), windowMinutes: Type.Integer({ minimum: 1, maximum: 60 }), minErrors: Type.Number(), factor: Type.Number(), margin: Type.Number() }), { additionalProperties: false })),
            time: Type.Optional(Type.Partial(Type.Object({ warmupDays: Type.Number(), minWeeklyCalls: Type.Number(), silentBelow: Type.Number(), minCalls: Type.Number() }), { additionalProperties: false })),
            location: Type.Optional(Type.Partial(Type.Object({ warmupDays: Type.Number(), warmupCalls: Type.Number(), maxLocations: Type.Integer({ minimum: 1 }) }), { additionalProperties: false })),
            sharing: Type.Optional(Type.Partial(Type.Object({ alpha: Type.Number(), warmupHours: Type.Number(), minClients: Type.Number(), factor: Type.Number(), sigmas: Type.Number(), maxTracked: Type.Integer({ minimum: 1 }) }), { additionalProperties: false })),
            flood: Type.Optional(Type.Partial(Type.Object({ threshold: Type.Integer({ minimum: 2 }), windowMinutes: Type.Number({ exclusiveMinimum: 0 }) }), { additionalProperties: false })),
          },
          { additionalProperties: false, default: {}, description: 'detector thresholds (see README)' },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.String({ pattern: '^(fatal|error|warn|info|debug|trace|silent)$', default: 'info' }),
        requests: Type.Number({ minimum: 0, maximum: 1, default: 0, description: 'fraction of calls logged as structured request lines' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type RouteConfig = Static<typeof RouteSchema>;
export type FileConfig = Static<typeof ConfigSchema>;

/** The resolved configuration a gateway runs with: file, defaults and environment merged. */
export interface Config extends Omit<FileConfig, 'storage' | 'redis'> {
  storage: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };
  redis?: { url: string; failClosed: boolean; prefix: string };
  /** Root admin token from KEYGATE_ADMIN_TOKEN, accepted as given. */
  adminToken?: string;
  /** Where the configuration came from, for messages. */
  source: string;
}
