/** Table shapes as Kysely sees them. Times are epoch milliseconds; JSON is stored as text; booleans as 0/1. */

export interface AppsTable {
  id: string;
  name: string;
  description: string | null;
  metadata: string | null;
  created_at: number;
  updated_at: number;
}

export interface KeysTable {
  id: string;
  app_id: string;
  hash: string;
  hint: string;
  name: string | null;
  plan_id: string | null;
  enabled: number;
  metadata: string | null;
  lineage_id: string;
  rotated_from: string | null;
  replaced_by: string | null;
  description: string | null;
  expires_at: number | null;
  revoked_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface AdminTokensTable {
  id: string;
  name: string;
  hash: string;
  hint: string;
  scopes: string;
  created_at: number;
  revoked_at: number | null;
}

export interface AuditTable {
  id: string;
  ts: number;
  actor: string;
  action: string;
  target: string;
  before: string | null;
  after: string | null;
}

export interface MetaTable {
  name: string;
  value: string;
}

export interface PlansTable {
  id: string;
  name: string;
  rate: number;
  burst: number;
  quota_limit: number | null;
  quota_period: string | null;
  quota_offset: string | null;
  timezone: string;
  overrides: string;
  auto_suspend: string;
  created_at: number;
  updated_at: number;
}

export interface QuotaUsageTable {
  key: string;
  used: number;
  window_end: number;
}

export interface BucketStateTable {
  key: string;
  tat: number;
}

/** Latency histogram columns h0 … h24 (see monitor/events.ts LATENCY_BOUNDS). */
export const HISTOGRAM_COLUMNS = Array.from({ length: 25 }, (_, i) => `h${i}`);

/** Additive counters of a usage row, in table order. */
export const USAGE_COUNTERS = [
  'requests',
  'admitted',
  's2xx',
  's4xx',
  's5xx',
  'throttled',
  'quota_exceeded',
  'auth_refused',
  'bytes_in',
  'bytes_out',
  ...HISTOGRAM_COLUMNS,
];

export const USAGE_TABLES = ['usage_minute', 'usage_hour', 'usage_day'] as const;
export type UsageTableName = (typeof USAGE_TABLES)[number];

/** A usage row: scope, id, bucket start, and the counters of USAGE_COUNTERS. */
export type UsageTable = { scope: string; id: string; ts: number } & Record<string, number>;

export interface AlertsTable {
  id: string;
  ts: number;
  type: string;
  severity: string;
  key_id: string | null;
  app_id: string | null;
  ip: string | null;
  detail: string;
  suspended: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
}

export interface DetectorStateTable {
  entity: string;
  state: string;
  updated_at: number;
}

export interface Database {
  alerts: AlertsTable;
  detector_state: DetectorStateTable;
  usage_minute: UsageTable;
  usage_hour: UsageTable;
  usage_day: UsageTable;
  plans: PlansTable;
  quota_usage: QuotaUsageTable;
  bucket_state: BucketStateTable;
  apps: AppsTable;
  keys: KeysTable;
  admin_tokens: AdminTokensTable;
  audit: AuditTable;
  meta: MetaTable;
}
