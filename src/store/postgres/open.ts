import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Stores } from '../interface.js';
import { migrate } from '../sql/migrations.js';
import type { Database } from '../sql/schema.js';
import { sqlStores } from '../sql/stores.js';

/** Session advisory lock held while migrating, so nodes starting together migrate once. */
const MIGRATION_LOCK = 0x6b6779; // "kgy"

// bigint columns hold epoch milliseconds, well inside Number's exact range.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

export interface PostgresOptions {
  poolSize?: number;
}

/** Connects to PostgreSQL and brings its schema up to date under an advisory lock. */
export async function openPostgresStores(url: string, options: PostgresOptions = {}): Promise<{ stores: Stores; db: Kysely<Database> }> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    types,
    connectionTimeoutMillis: 5000,
    // A database that stops answering (rather than refusing) must not hold requests forever:
    // queries give up after 10 s, and dead peers are noticed by TCP keep-alive.
    query_timeout: 10_000,
    keepAlive: true,
    application_name: 'keygate',
  });
  // A dropped connection must not crash the process: an idle one is replaced by the pool, and
  // one in use (between the statements of a transaction) fails its next query instead.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
      try {
        await migrate(conn);
      } finally {
        await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
      }
    });
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return { stores: sqlStores(db, () => db.destroy(), true), db };
}
