import { sql, type Kysely } from 'kysely';
import type { Stores } from '../interface.js';
import { SqlAlertStore } from './alerts.js';
import { SqlAppStore } from './apps.js';
import { SqlAuditLog, SqlMetaStore } from './audit.js';
import { SqlKeyStore } from './keys.js';
import { SqlLimitStateStore } from './limit-state.js';
import { SqlPlanStore } from './plans.js';
import { SqlUsageStore } from './usage.js';
import type { Database } from './schema.js';
import { SqlAdminTokenStore } from './tokens.js';

/**
 * The stores over one Kysely instance. The queries are written once here and run on SQLite and
 * PostgreSQL alike; only opening the connection differs (sqlite/open.ts, postgres/open.ts).
 * `rowLocks`: the database takes row locks (`FOR SHARE`, `FOR UPDATE`; PostgreSQL). SQLite has
 * none, and needs none: a transaction there has the database to itself.
 */
export function sqlStores(db: Kysely<Database>, close: () => Promise<void>, rowLocks: boolean): Stores {
  return {
    apps: new SqlAppStore(db),
    keys: new SqlKeyStore(db, rowLocks),
    plans: new SqlPlanStore(db, rowLocks),
    limits: new SqlLimitStateStore(db),
    usage: new SqlUsageStore(db),
    alerts: new SqlAlertStore(db),
    tokens: new SqlAdminTokenStore(db),
    audit: new SqlAuditLog(db),
    meta: new SqlMetaStore(db),
    async ping() {
      // Answers within 3 s whatever the database does.
      const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3000).unref());
      const answer = sql`select 1`.execute(db).then(
        () => true,
        () => false,
      );
      return Promise.race([answer, timeout]);
    },
    close,
  };
}
