import { Migrator, type Kysely, type Migration } from 'kysely';
import { USAGE_COUNTERS, USAGE_TABLES } from './schema.js';

/**
 * Schema migrations, written once with Kysely's schema builder so the same DDL runs on SQLite
 * and PostgreSQL. Append new migrations; never edit a released one.
 */
export const migrations: Record<string, Migration> = {
  '0001_core': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('apps')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text')
        .addColumn('metadata', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('hint', 'text', (c) => c.notNull())
        .addColumn('name', 'text')
        .addColumn('plan_id', 'text')
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('metadata', 'text')
        .addColumn('lineage_id', 'text', (c) => c.notNull())
        .addColumn('rotated_from', 'text')
        .addColumn('expires_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('keys_app_id').on('keys').columns(['app_id', 'id']).execute();
      await db.schema.createIndex('keys_plan_id').on('keys').column('plan_id').execute();
      await db.schema
        .createTable('admin_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('hint', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema
        .createTable('audit')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('before', 'text')
        .addColumn('after', 'text')
        .execute();
      await db.schema.createIndex('audit_target').on('audit').columns(['target', 'id']).execute();
      await db.schema
        .createTable('meta')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0002_plans_and_limits': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('plans')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('rate', 'double precision', (c) => c.notNull())
        .addColumn('burst', 'integer', (c) => c.notNull())
        .addColumn('quota_limit', 'bigint')
        .addColumn('quota_period', 'text')
        .addColumn('quota_offset', 'text')
        .addColumn('timezone', 'text', (c) => c.notNull())
        .addColumn('overrides', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('quota_usage')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('used', 'bigint', (c) => c.notNull())
        .addColumn('window_end', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('bucket_state')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('tat', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0003_key_lifecycle': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('keys').addColumn('description', 'text').execute();
      await db.schema.alterTable('keys').addColumn('replaced_by', 'text').execute();
    },
  },
  '0004_usage': {
    async up(db: Kysely<any>) {
      for (const table of USAGE_TABLES) {
        let t = db.schema
          .createTable(table)
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('ts', 'bigint', (c) => c.notNull());
        for (const column of USAGE_COUNTERS) t = t.addColumn(column, 'bigint', (c) => c.notNull().defaultTo(0));
        await t.addPrimaryKeyConstraint(`${table}_pk`, ['scope', 'id', 'ts']).execute();
        await db.schema.createIndex(`${table}_ts`).on(table).column('ts').execute();
      }
    },
  },
  '0005_alerts': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('alerts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addColumn('app_id', 'text')
        .addColumn('ip', 'text')
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('suspended', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('acknowledged_at', 'bigint')
        .addColumn('acknowledged_by', 'text')
        .execute();
      await db.schema.createIndex('alerts_key').on('alerts').columns(['key_id', 'id']).execute();
      await db.schema
        .createTable('detector_state')
        .addColumn('entity', 'text', (c) => c.primaryKey())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0006_plan_auto_suspend': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('plans').addColumn('auto_suspend', 'text', (c) => c.notNull().defaultTo('[]')).execute();
    },
  },
};

/** Brings the schema up to date. The caller serialises concurrent callers (see postgres/open.ts). */
export async function migrate(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'keygate_migrations',
    migrationLockTableName: 'keygate_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`);
  }
}
