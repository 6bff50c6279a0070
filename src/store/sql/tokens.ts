import type { Kysely, Selectable } from 'kysely';
import { StoreConflict, type AdminToken, type AdminTokenStore, type Page, type PageRequest, type Scope } from '../interface.js';
import type { AdminTokensTable, Database } from './schema.js';
import { decodeCursor, isUniqueViolation, toPage } from './util.js';

function toToken(row: Selectable<AdminTokensTable>): AdminToken {
  return {
    id: row.id,
    name: row.name,
    hash: row.hash,
    hint: row.hint,
    scopes: row.scopes.split(',').filter(Boolean) as Scope[],
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at == null ? null : Number(row.revoked_at),
  };
}

export class SqlAdminTokenStore implements AdminTokenStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(token: AdminToken): Promise<void> {
    try {
      await this.db
        .insertInto('admin_tokens')
        .values({
          id: token.id,
          name: token.name,
          hash: token.hash,
          hint: token.hint,
          scopes: token.scopes.join(','),
          created_at: token.createdAt,
          revoked_at: token.revokedAt,
        })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflict('an admin token with this value exists');
      throw err;
    }
  }

  async findByHash(hash: string): Promise<AdminToken | null> {
    const row = await this.db.selectFrom('admin_tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row ? toToken(row) : null;
  }

  async get(id: string): Promise<AdminToken | null> {
    const row = await this.db.selectFrom('admin_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toToken(row) : null;
  }

  async list(page: PageRequest): Promise<Page<AdminToken>> {
    let q = this.db.selectFrom('admin_tokens').selectAll().orderBy('id').limit(page.limit + 1);
    const after = decodeCursor(page.cursor);
    if (after) q = q.where('id', '>', after);
    return toPage(await q.execute(), page.limit, toToken);
  }

  async revoke(id: string, at: number): Promise<AdminToken | null> {
    await this.db.updateTable('admin_tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    return this.get(id);
  }
}
