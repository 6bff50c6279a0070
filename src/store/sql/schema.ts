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

export interface Database {
  plans: PlansTable;
  quota_usage: QuotaUsageTable;
  bucket_state: BucketStateTable;
  apps: AppsTable;
  keys: KeysTable;
  admin_tokens: AdminTokensTable;
  audit: AuditTable;
  meta: MetaTable;
}
