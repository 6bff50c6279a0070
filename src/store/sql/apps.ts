import type { Kysely, Selectable } from 'kysely';
import { StoreConflict, type App, type AppStore, type Page, type PageRequest } from '../interface.js';
import type { AppsTable, Database } from './schema.js';
import { decodeCursor, fromJson, isUniqueViolation, toJson, toPage } from './util.js';

function toApp(row: Selectable<AppsTable>): App {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    metadata: fromJson(row.metadata),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export class SqlAppStore implements AppStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(app: App): Promise<void> {
    try {
      await this.db
        .insertInto('apps')
        .values({
          id: app.id,
          name: app.name,
          description: app.description,
          metadata: toJson(app.metadata),
          created_at: app.createdAt,
          updated_at: app.updatedAt,
        })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflict(`an app named "${app.name}" exists`);
      throw err;
    }
  }

  async get(id: string): Promise<App | null> {
    const row = await this.db.selectFrom('apps').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toApp(row) : null;
  }

  async findByName(name: string): Promise<App | null> {
    const row = await this.db.selectFrom('apps').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toApp(row) : null;
  }

  async list(page: PageRequest): Promise<Page<App>> {
    let q = this.db.selectFrom('apps').selectAll().orderBy('id').limit(page.limit + 1);
    const after = decodeCursor(page.cursor);
    if (after) q = q.where('id', '>', after);
    return toPage(await q.execute(), page.limit, toApp);
  }

  async update(id: string, changes: Partial<Pick<App, 'name' | 'description' | 'metadata'>>, at: number): Promise<App | null> {
    const set: Partial<AppsTable> = { updated_at: at };
    if (changes.name !== undefined) set.name = changes.name;
    if (changes.description !== undefined) set.description = changes.description;
    if (changes.metadata !== undefined) set.metadata = toJson(changes.metadata);
    try {
      await this.db.updateTable('apps').set(set).where('id', '=', id).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflict(`an app named "${changes.name}" exists`);
      throw err;
    }
    return this.get(id);
  }
}
