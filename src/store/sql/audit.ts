import type { Kysely, Selectable } from 'kysely';
import type { AuditEntry, AuditFilter, AuditLog, MetaStore, Page } from '../interface.js';
import type { AuditTable, Database } from './schema.js';
import { decodeCursor, fromJson, isUniqueViolation, toJson, toPage } from './util.js';

function toEntry(row: Selectable<AuditTable>): AuditEntry {
  return {
    id: row.id,
    ts: Number(row.ts),
    actor: row.actor,
    action: row.action,
    target: row.target,
    before: fromJson(row.before),
    after: fromJson(row.after),
  };
}

export class SqlAuditLog implements AuditLog {
  constructor(private readonly db: Kysely<Database>) {}

  async append(entry: AuditEntry): Promise<void> {
    await this.appendMany([entry]);
  }

  async appendMany(entries: AuditEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += 300) {
      await this.db
        .insertInto('audit')
        .values(entries.slice(i, i + 300).map((e) => ({ ...e, before: toJson(e.before), after: toJson(e.after) })))
        .execute();
    }
  }

  async list(filter: AuditFilter): Promise<Page<AuditEntry>> {
    let q = this.db.selectFrom('audit').selectAll().orderBy('id', 'desc').limit(filter.limit + 1);
    const before = decodeCursor(filter.cursor);
    if (before) q = q.where('id', '<', before);
    if (filter.target) q = q.where('target', '=', filter.target);
    if (filter.action) q = q.where('action', '=', filter.action);
    if (filter.actor) q = q.where('actor', '=', filter.actor);
    if (filter.from !== undefined) q = q.where('ts', '>=', filter.from);
    if (filter.to !== undefined) q = q.where('ts', '<', filter.to);
    return toPage(await q.execute(), filter.limit, toEntry);
  }
}

export class SqlMetaStore implements MetaStore {
  constructor(private readonly db: Kysely<Database>) {}

  async claim(name: string, value: string): Promise<boolean> {
    try {
      await this.db.insertInto('meta').values({ name, value }).execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async get(name: string): Promise<string | null> {
    const row = await this.db.selectFrom('meta').select('value').where('name', '=', name).executeTakeFirst();
    return row?.value ?? null;
  }
}
