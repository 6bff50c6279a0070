import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Stores } from '../interface.js';
import { migrate } from '../sql/migrations.js';
import type { Database } from '../sql/schema.js';
import { sqlStores } from '../sql/stores.js';

/** Opens (creating if needed) the SQLite file and brings its schema up to date. */
export async function openSqliteStores(path: string): Promise<{ stores: Stores; db: Kysely<Database> }> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new Sqlite(path);
  // WAL lets readers proceed during writes; NORMAL sync is durable across process crashes.
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  await migrate(db);
  return { stores: sqlStores(db, () => db.destroy(), false), db };
}
