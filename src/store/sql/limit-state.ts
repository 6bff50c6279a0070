import { sql, type Kysely } from 'kysely';
import type { LimitStateStore } from '../interface.js';
import type { Database } from './schema.js';

const CHUNK = 300;

export class SqlLimitStateStore implements LimitStateStore {
  constructor(private readonly db: Kysely<Database>) {}

  async loadQuotas(now: number): Promise<Array<{ key: string; used: number; windowEnd: number }>> {
    const rows = await this.db.selectFrom('quota_usage').selectAll().where('window_end', '>', now).execute();
    return rows.map((r) => ({ key: r.key, used: Number(r.used), windowEnd: Number(r.window_end) }));
  }

  async getQuota(key: string): Promise<number> {
    const row = await this.db.selectFrom('quota_usage').select('used').where('key', '=', key).executeTakeFirst();
    return row ? Number(row.used) : 0;
  }

  async raiseQuotas(rows: Array<{ key: string; used: number; windowEnd: number }>): Promise<void> {
    for (let i = 0; i < rows.length; i += CHUNK) {
      await this.db
        .insertInto('quota_usage')
        .values(rows.slice(i, i + CHUNK).map((r) => ({ key: r.key, used: r.used, window_end: r.windowEnd })))
        .onConflict((oc) =>
          oc.column('key').doUpdateSet({
            // Written the same on SQLite and PostgreSQL: keep the larger count.
            used: sql`case when excluded.used > quota_usage.used then excluded.used else quota_usage.used end`,
          }),
        )
        .execute();
    }
  }

  async setQuota(key: string, used: number, windowEnd: number): Promise<void> {
    await this.db
      .insertInto('quota_usage')
      .values({ key, used, window_end: windowEnd })
      .onConflict((oc) => oc.column('key').doUpdateSet({ used, window_end: windowEnd }))
      .execute();
  }

  async loadBuckets(nowUs: number): Promise<Array<{ key: string; tat: number }>> {
    const rows = await this.db.selectFrom('bucket_state').selectAll().where('tat', '>', nowUs).execute();
    return rows.map((r) => ({ key: r.key, tat: Number(r.tat) }));
  }

  async saveBuckets(rows: Array<{ key: string; tat: number }>): Promise<void> {
    for (let i = 0; i < rows.length; i += CHUNK) {
      await this.db
        .insertInto('bucket_state')
        .values(rows.slice(i, i + CHUNK))
        .onConflict((oc) => oc.column('key').doUpdateSet({ tat: sql`excluded.tat` }))
        .execute();
    }
  }

  async prune(now: number): Promise<void> {
    await this.db.deleteFrom('quota_usage').where('window_end', '<=', now).execute();
    await this.db.deleteFrom('bucket_state').where('tat', '<=', now * 1000).execute();
  }
}
