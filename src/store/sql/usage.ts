import { sql, type Kysely } from 'kysely';
import { BUCKETS, type UsageDelta, type UsageScope } from '../../monitor/events.js';
import type { UsageQuery, UsageRow, UsageStore } from '../interface.js';
import { HISTOGRAM_COLUMNS, USAGE_COUNTERS, type Database, type UsageTableName } from './schema.js';

const TABLE: Record<UsageQuery['granularity'], UsageTableName> = { minute: 'usage_minute', hour: 'usage_hour', day: 'usage_day' };
const SPAN = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const CHUNK = 200;

function values(d: UsageDelta, ts: number): Record<string, string | number> {
  const row: Record<string, string | number> = {
    scope: d.scope,
    id: d.id,
    ts,
    requests: d.requests,
    admitted: d.admitted,
    s2xx: d.s2xx,
    s4xx: d.s4xx,
    s5xx: d.s5xx,
    throttled: d.throttled,
    quota_exceeded: d.quotaExceeded,
    auth_refused: d.authRefused,
    bytes_in: d.bytesIn,
    bytes_out: d.bytesOut,
  };
  for (let i = 0; i < BUCKETS; i++) row[HISTOGRAM_COLUMNS[i]!] = d.histogram[i]!;
  return row;
}

function toRow(r: Record<string, unknown>): UsageRow {
  const n = (k: string) => Number(r[k] ?? 0);
  return {
    ts: n('ts'),
    requests: n('requests'),
    admitted: n('admitted'),
    s2xx: n('s2xx'),
    s4xx: n('s4xx'),
    s5xx: n('s5xx'),
    throttled: n('throttled'),
    quotaExceeded: n('quota_exceeded'),
    authRefused: n('auth_refused'),
    bytesIn: n('bytes_in'),
    bytesOut: n('bytes_out'),
    histogram: HISTOGRAM_COLUMNS.map(n),
  };
}

/**
 * Usage series in three tables (minute, hour, day). Every delta is added to its minute, hour
 * and day row in the same statement batch, so rollups always equal the sum of their minutes;
 * and since rows are only ever added to, every node can write its own counts.
 */
export class SqlUsageStore implements UsageStore {
  constructor(private readonly db: Kysely<Database>) {}

  async add(deltas: UsageDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (const granularity of ['minute', 'hour', 'day'] as const) {
        const table = TABLE[granularity];
        const span = SPAN[granularity];
        // Merge deltas that land in the same row first: one upsert per row.
        const merged = new Map<string, Record<string, string | number>>();
        for (const d of deltas) {
          const ts = d.minute - (d.minute % span);
          const key = `${d.scope}\u0000${d.id}\u0000${ts}`;
          const add = values(d, ts);
          const row = merged.get(key);
          if (row === undefined) merged.set(key, add);
          else for (const c of USAGE_COUNTERS) (row[c] as number) += add[c] as number;
        }
        // Always in the same order, so two nodes adding to the same rows cannot deadlock.
        const rows = [...merged.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1]);
        for (let i = 0; i < rows.length; i += CHUNK) {
          await trx
            .insertInto(table)
            .values(rows.slice(i, i + CHUNK) as never)
            .onConflict((oc) =>
              oc.columns(['scope', 'id', 'ts']).doUpdateSet(Object.fromEntries(USAGE_COUNTERS.map((c) => [c, sql`${sql.ref(`${table}.${c}`)} + excluded.${sql.ref(c)}`])) as never),
            )
            .execute();
        }
      }
    });
  }

  async query(q: UsageQuery): Promise<UsageRow[]> {
    const rows = await this.db
      .selectFrom(TABLE[q.granularity])
      .selectAll()
      .where('scope', '=', q.scope)
      .where('id', '=', q.id)
      .where('ts', '>=', q.from)
      .where('ts', '<', q.to)
      .orderBy('ts')
      .execute();
    return rows.map((r) => toRow(r as Record<string, unknown>));
  }

  async dailyByKey(q: { from: number; to: number; keyIds: string[] | null }): Promise<Array<{ keyId: string; day: number; admitted: number }>> {
    let query = this.db.selectFrom('usage_day').select(['id', 'ts', 'admitted']).where('scope', '=', 'key' satisfies UsageScope).where('ts', '>=', q.from).where('ts', '<', q.to);
    if (q.keyIds !== null) {
      if (q.keyIds.length === 0) return [];
      query = query.where('id', 'in', q.keyIds);
    }
    const rows = await query.orderBy('id').orderBy('ts').execute();
    return rows.map((r) => ({ keyId: String(r.id), day: Number(r.ts), admitted: Number(r.admitted) }));
  }

  async prune(before: { minute: number; hour: number; day: number }): Promise<void> {
    for (const granularity of ['minute', 'hour', 'day'] as const) {
      await this.db.deleteFrom(TABLE[granularity]).where('ts', '<', before[granularity]).execute();
    }
  }
}
