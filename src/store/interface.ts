import type { BucketParams } from '../limits/token-bucket.js';
import type { UsageCounts, UsageDelta, UsageScope } from '../monitor/events.js';

/**
 * Storage contracts, one small interface per capability. Every backend (SQLite, PostgreSQL)
 * implements them with the same semantics; the behaviour suite in test/ runs against each.
 * Stores raise StoreConflict for uniqueness violations and return null for unknown ids:
 * they never speak HTTP.
 */

export type Json = Record<string, unknown>;

export interface Page<T> {
  items: T[];
  /** Opaque cursor of the next page, or null at the end. */
  nextCursor: string | null;
}

export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
}

/** A key names a plan that does not exist (any more): it was deleted before the key's write. Nothing was written. */
export class PlanMissing extends Error {
  constructor(readonly planId: string) {
    super(`no plan with id ${planId}`);
    this.name = 'PlanMissing';
  }
}

/** Raised when a write would break a uniqueness rule (duplicate name, key value, ...). */
export class StoreConflict extends Error {
  constructor(readonly what: string) {
    super(`conflict: ${what}`);
    this.name = 'StoreConflict';
  }
}

export interface App {
  id: string;
  name: string;
  description: string | null;
  metadata: Json | null;
  createdAt: number;
  updatedAt: number;
}

export interface AppStore {
  /** Inserts an app. Throws StoreConflict if the name is taken. */
  insert(app: App): Promise<void>;
  /** The app with this id, or null. */
  get(id: string): Promise<App | null>;
  /** The app with this exact name, or null. */
  findByName(name: string): Promise<App | null>;
  /** Apps in creation order. */
  list(page: PageRequest): Promise<Page<App>>;
  /** Applies the changes; returns the updated app or null if unknown. Throws StoreConflict on a taken name. */
  update(id: string, changes: Partial<Pick<App, 'name' | 'description' | 'metadata'>>, at: number): Promise<App | null>;
}

export type KeyStatus = 'active' | 'disabled' | 'expired' | 'revoked';

/** A stored key. There is no plaintext here: only its hash and a display hint. */
export interface KeyRecord {
  id: string;
  appId: string;
  hash: string;
  hint: string;
  name: string | null;
  planId: string | null;
  enabled: boolean;
  metadata: Json | null;
  /** Keys related by rotation share a lineage: throttle and quota state is kept per lineage. */
  lineageId: string;
  /** The key this one replaced by rotation, if any. */
  rotatedFrom: string | null;
  /** The key that replaced this one by rotation, if any. */
  replacedBy: string | null;
  description: string | null;
  expiresAt: number | null;
  revokedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export type KeyChanges = Partial<Pick<KeyRecord, 'name' | 'description' | 'planId' | 'enabled' | 'metadata' | 'expiresAt' | 'revokedAt'>>;

export interface KeyFilter extends PageRequest {
  appId?: string | undefined;
  status?: KeyStatus | undefined;
  /** The time `status` is judged at (expiry). */
  now: number;
}

export interface KeyStore {
  /**
   * Inserts a key. Throws StoreConflict if a key with the same hash exists, PlanMissing if its
   * plan does not exist. A key write that names a plan holds the plan until it commits, so a
   * plan's delete either waits and then finds the key, or goes first and the write fails.
   */
  insert(key: KeyRecord): Promise<void>;
  /** Inserts several keys in one transaction; every one must be new (StoreConflict otherwise, nothing written), and their plans exist (PlanMissing). */
  insertMany(keys: KeyRecord[]): Promise<void>;
  get(id: string): Promise<KeyRecord | null>;
  /** The key whose hash is `hash`, or null. Lookups are by hash only: plaintext never reaches a store. */
  findByHash(hash: string): Promise<KeyRecord | null>;
  /** Keys in creation order, filtered by app and status. */
  list(filter: KeyFilter): Promise<Page<KeyRecord>>;
  /** Applies the changes and bumps updatedAt; returns the key or null if unknown. PlanMissing if `changes.planId` names no plan. */
  update(id: string, changes: KeyChanges, at: number): Promise<KeyRecord | null>;
  /** Number of keys that use the plan (any status but revoked). */
  countByPlan(planId: string): Promise<number>;
  /**
   * Rotation, in one transaction: inserts `successor` and sets the old key's expiry and
   * `replacedBy`, only if the old key has not been replaced or revoked meanwhile. Returns the
   * updated old key, or null if it could not be rotated. Throws StoreConflict on a duplicate hash.
   */
  rotate(oldId: string, successor: KeyRecord, oldExpiresAt: number, at: number): Promise<KeyRecord | null>;
}

export type Scope = 'read' | 'write' | 'admin';

export interface AdminToken {
  id: string;
  name: string;
  hash: string;
  hint: string;
  scopes: Scope[];
  createdAt: number;
  revokedAt: number | null;
}

export interface AdminTokenStore {
  /** Inserts a token. Throws StoreConflict on a duplicate hash. */
  insert(token: AdminToken): Promise<void>;
  findByHash(hash: string): Promise<AdminToken | null>;
  get(id: string): Promise<AdminToken | null>;
  list(page: PageRequest): Promise<Page<AdminToken>>;
  /** Marks the token revoked; returns it, or null if unknown. */
  revoke(id: string, at: number): Promise<AdminToken | null>;
}

export interface AuditEntry {
  id: string;
  ts: number;
  /** Who: `root`, `token:<id>` or `system`. */
  actor: string;
  /** What: `key.create`, `key.revoke`, `app.update`, ... */
  action: string;
  /** The id the action applied to. */
  target: string;
  before: Json | null;
  after: Json | null;
}

export interface AuditFilter extends PageRequest {
  target?: string | undefined;
  action?: string | undefined;
  actor?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
}

export interface AuditLog {
  /** Appends an entry. Entries are never changed or removed. */
  append(entry: AuditEntry): Promise<void>;
  /** Appends several entries in one write. */
  appendMany(entries: AuditEntry[]): Promise<void>;
  /** Entries, newest first. */
  list(filter: AuditFilter): Promise<Page<AuditEntry>>;
}

/** Cluster-wide one-time facts (e.g. "the bootstrap token was issued"). */
export interface MetaStore {
  /**
   * Sets `name` to `value` only if it has never been set. True for exactly one caller across
   * all nodes sharing the store.
   */
  claim(name: string, value: string): Promise<boolean>;
  get(name: string): Promise<string | null>;
}

export interface QuotaSpec {
  limit: number;
  period: 'day' | 'week' | 'month';
  /** Wall-clock shift of the window start, as written (`6h`, `14d`), or null. */
  offset: string | null;
}

export interface ThrottleOverride {
  /** A route path of keygate.yaml. */
  route: string;
  /** Upper-case method, or null for every method. */
  method: string | null;
  rate: number;
  burst: number;
}

/** A usage plan: a throttle (token bucket), an optional calendar quota, per-route overrides. */
export interface Plan {
  id: string;
  name: string;
  /** Tokens per second. */
  rate: number;
  /** Bucket size. */
  burst: number;
  quota: QuotaSpec | null;
  /** IANA zone the quota windows follow. */
  timezone: string;
  overrides: ThrottleOverride[];
  /** Alert types that disable a key of this plan at once. */
  autoSuspend: string[];
  createdAt: number;
  updatedAt: number;
}

export type PlanChanges = Partial<Pick<Plan, 'name' | 'rate' | 'burst' | 'quota' | 'timezone' | 'overrides' | 'autoSuspend'>>;

export interface PlanStore {
  /** Inserts a plan. Throws StoreConflict on a taken name. */
  insert(plan: Plan): Promise<void>;
  get(id: string): Promise<Plan | null>;
  findByName(name: string): Promise<Plan | null>;
  list(page: PageRequest): Promise<Page<Plan>>;
  /** Every plan (plans are few; the gateway keeps them all in memory). */
  all(): Promise<Plan[]>;
  /** Applies the changes; the plan, or null if unknown. Throws StoreConflict on a taken name. */
  update(id: string, changes: PlanChanges, at: number): Promise<Plan | null>;
  /**
   * Deletes the plan unless a key (not revoked) uses it; false if unknown or in use. Exact
   * against concurrent key writes naming the plan (see KeyStore.insert).
   */
  delete(id: string): Promise<boolean>;
}

/**
 * Durable copies of limit state, so throttles and quotas survive restarts (and, with Redis,
 * a Redis flush). Quota counts only ever go up through `raiseQuotas`; `setQuota` is for
 * administrative resets.
 */
export interface LimitStateStore {
  /** Quota counts of windows ending after `now`. */
  loadQuotas(now: number): Promise<Array<{ key: string; used: number; windowEnd: number }>>;
  /** The stored count of one quota window, or 0. */
  getQuota(key: string): Promise<number>;
  /** Stores each count unless the stored one is higher (several nodes may write). */
  raiseQuotas(rows: Array<{ key: string; used: number; windowEnd: number }>): Promise<void>;
  /** Stores the count as given (reset / adjust). */
  setQuota(key: string, used: number, windowEnd: number): Promise<void>;
  /** Token-bucket states (theoretical arrival times) still in the future. */
  loadBuckets(nowUs: number): Promise<Array<{ key: string; tat: number }>>;
  /** Stores bucket states, replacing older ones. */
  saveBuckets(rows: Array<{ key: string; tat: number }>): Promise<void>;
  /** Removes windows and buckets that are over. */
  prune(now: number): Promise<void>;
}

/** One limit decision to take atomically: a token from the bucket, and one unit of quota. */
export interface LimitRequest {
  bucketKey: string;
  bucket: BucketParams;
  quota: { key: string; limit: number; windowEnd: number } | null;
  /** Now, in epoch ms (the gateway's clock; the Redis store uses Redis's clock in production). */
  now: number;
}

export interface LimitDecision {
  allowed: boolean;
  refusal: 'rate_limited' | 'quota_exceeded' | 'limiter_unavailable' | null;
  /** Tokens left in the bucket after this decision. */
  remaining: number;
  /** Microseconds until the bucket is full. */
  resetUs: number;
  /** When rate limited: microseconds until a token is back. */
  retryAfterUs: number;
  /** Quota units used in the window after this decision (-1 without a quota). */
  quotaUsed: number;
}

/**
 * How long limit state is kept after it stops mattering (a bucket full again, a quota window
 * over), by every counter store: a clock that steps back by up to this much finds the state
 * again, so limits stay exact through it. A longer step back may find a fresh bucket or window.
 */
export const KEEP_AFTER = { bucketMs: 60_000, quotaMs: 3_600_000 } as const;

/**
 * Atomic limit primitives. `decide` checks the bucket, then the quota, and commits both only
 * if both admit: a throttled or quota-refused call never uses quota or a token. Implementations
 * never read-then-write across processes (Redis runs one Lua script per decision).
 */
export interface CounterStore {
  /** One decision. The in-memory store answers synchronously. */
  decide(req: LimitRequest): LimitDecision | Promise<LimitDecision>;
  /** Units used in a quota window. */
  quotaUsed(key: string): Promise<number>;
  /** Resets the window's count to 0 or adds `add` (may be negative); returns the new count. Persisted at once. */
  adjustQuota(key: string, change: { reset: true } | { add: number }, windowEnd: number): Promise<number>;
  /** Flushes what is not yet persisted and stops background work. */
  close(): Promise<void>;
}

export interface UsageQuery {
  scope: UsageScope;
  id: string;
  /** Epoch ms, inclusive / exclusive. */
  from: number;
  to: number;
  granularity: 'minute' | 'hour' | 'day';
}

/** One stored bucket of a usage series. */
export interface UsageRow extends UsageCounts {
  ts: number;
}

export interface UsageStore {
  /** Adds per-minute deltas to the minute, hour and day series (rows are created as needed). */
  add(deltas: UsageDelta[]): Promise<void>;
  /** Stored buckets of one series in [from, to), in time order (empty buckets are absent). */
  query(q: UsageQuery): Promise<UsageRow[]>;
  /** Admitted calls per key and UTC day in [from, to); all keys with usage if `keyIds` is null. */
  dailyByKey(q: { from: number; to: number; keyIds: string[] | null }): Promise<Array<{ keyId: string; day: number; admitted: number }>>;
  /** Deletes buckets older than the given times (retention). */
  prune(before: { minute: number; hour: number; day: number }): Promise<void>;
}

export interface Alert {
  id: string;
  /** When the detector decided (the time of the event that made it decide). */
  ts: number;
  type: string;
  severity: 'low' | 'medium' | 'high';
  keyId: string | null;
  appId: string | null;
  ip: string | null;
  detail: Json;
  /** The key was disabled automatically because of this alert. */
  suspended: boolean;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
}

export interface AlertFilter extends PageRequest {
  keyId?: string | undefined;
  appId?: string | undefined;
  type?: string | undefined;
  /** open: not acknowledged. */
  status?: 'open' | 'acknowledged' | undefined;
  from?: number | undefined;
  to?: number | undefined;
}

export interface AlertStore {
  insert(alert: Alert): Promise<void>;
  get(id: string): Promise<Alert | null>;
  /** Newest first. */
  list(filter: AlertFilter): Promise<Page<Alert>>;
  /** Marks acknowledged (once); returns the alert, or null if unknown. */
  acknowledge(id: string, by: string, at: number): Promise<Alert | null>;
  /** Detector memory, per entity (key or address), for restarts and for the next leader. */
  loadDetectorState(): Promise<Array<{ entity: string; state: string }>>;
  saveDetectorState(rows: Array<{ entity: string; state: string }>, at: number): Promise<void>;
}

/** Everything a gateway stores in its database. */
export interface Stores {
  alerts: AlertStore;
  usage: UsageStore;
  apps: AppStore;
  keys: KeyStore;
  plans: PlanStore;
  limits: LimitStateStore;
  tokens: AdminTokenStore;
  audit: AuditLog;
  meta: MetaStore;
  /** True when the database answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
