import type { Kysely, Selectable, Transaction } from 'kysely';
import { PlanMissing, StoreConflict, type KeyChanges, type KeyFilter, type KeyRecord, type KeyStore, type Page } from '../interface.js';
import type { Database, KeysTable } from './schema.js';
import { decodeCursor, fromJson, isUniqueViolation, toJson, toPage } from './util.js';

function toKey(row: Selectable<KeysTable>): KeyRecord {
  return {
    id: row.id,
    appId: row.app_id,
    hash: row.hash,
    hint: row.hint,
    name: row.name,
    planId: row.plan_id,
    enabled: Number(row.enabled) === 1,
    metadata: fromJson(row.metadata),
    lineageId: row.lineage_id,
    rotatedFrom: row.rotated_from,
    replacedBy: row.replaced_by,
    description: row.description,
    expiresAt: row.expires_at == null ? null : Number(row.expires_at),
    revokedAt: row.revoked_at == null ? null : Number(row.revoked_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toRow(key: KeyRecord): KeysTable {
  return {
    id: key.id,
    app_id: key.appId,
    hash: key.hash,
    hint: key.hint,
    name: key.name,
    plan_id: key.planId,
    enabled: key.enabled ? 1 : 0,
    metadata: toJson(key.metadata),
    lineage_id: key.lineageId,
    rotated_from: key.rotatedFrom,
    replaced_by: key.replacedBy,
    description: key.description,
    expires_at: key.expiresAt,
    revoked_at: key.revokedAt,
    created_at: key.createdAt,
    updated_at: key.updatedAt,
  };
}

/** The keys that use a plan (any status but revoked): what keeps a plan from being deleted. */
export function keysUsingPlan(db: Kysely<Database>, planId: string) {
  return db.selectFrom('keys').where('plan_id', '=', planId).where('revoked_at', 'is', null);
}

export class SqlKeyStore implements KeyStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly rowLocks: boolean,
  ) {}

  /**
   * Holds the plans the keys being written name, until the transaction ends: a plan deleted
   * meanwhile cannot leave a key naming it (PlanMissing instead). On PostgreSQL a share lock on
   * each plan's row, which a plan's delete waits for (SqlPlanStore.delete); on SQLite the
   * transaction has the database to itself.
   */
  private async holdPlans(trx: Transaction<Database>, planIds: Iterable<string | null>): Promise<void> {
    for (const planId of new Set(planIds)) {
      if (planId === null) continue;
      let q = trx.selectFrom('plans').select('id').where('id', '=', planId);
      if (this.rowLocks) q = q.forShare();
      if (!(await q.executeTakeFirst())) throw new PlanMissing(planId);
    }
  }

  async insert(key: KeyRecord): Promise<void> {
    await this.insertMany([key]);
  }

  async insertMany(keys: KeyRecord[]): Promise<void> {
    if (keys.length === 0) return;
    try {
      await this.db.transaction().execute(async (trx) => {
        await this.holdPlans(trx, keys.map((k) => k.planId));
        // Chunks keep each statement under SQLite's bound-parameter limit.
        for (let i = 0; i < keys.length; i += 500) {
          await trx.insertInto('keys').values(keys.slice(i, i + 500).map(toRow)).execute();
        }
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflict('a key with this value exists');
      throw err;
    }
  }

  async get(id: string): Promise<KeyRecord | null> {
    const row = await this.db.selectFrom('keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toKey(row) : null;
  }

  async findByHash(hash: string): Promise<KeyRecord | null> {
    const row = await this.db.selectFrom('keys').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row ? toKey(row) : null;
  }

  async list(filter: KeyFilter): Promise<Page<KeyRecord>> {
    let q = this.db.selectFrom('keys').selectAll().orderBy('id').limit(filter.limit + 1);
    const after = decodeCursor(filter.cursor);
    if (after) q = q.where('id', '>', after);
    if (filter.appId) q = q.where('app_id', '=', filter.appId);
    const now = filter.now;
    switch (filter.status) {
      case 'revoked':
        q = q.where('revoked_at', 'is not', null);
        break;
      case 'expired':
        q = q.where('revoked_at', 'is', null).where('expires_at', '<=', now);
        break;
      case 'disabled':
        q = q
          .where('revoked_at', 'is', null)
          .where('enabled', '=', 0)
          .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
        break;
      case 'active':
        q = q
          .where('revoked_at', 'is', null)
          .where('enabled', '=', 1)
          .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
        break;
      default:
        break;
    }
    return toPage(await q.execute(), filter.limit, toKey);
  }

  async update(id: string, changes: KeyChanges, at: number): Promise<KeyRecord | null> {
    const set: Partial<KeysTable> = { updated_at: at };
    if (changes.name !== undefined) set.name = changes.name;
    if (changes.description !== undefined) set.description = changes.description;
    if (changes.planId !== undefined) set.plan_id = changes.planId;
    if (changes.enabled !== undefined) set.enabled = changes.enabled ? 1 : 0;
    if (changes.metadata !== undefined) set.metadata = toJson(changes.metadata);
    if (changes.expiresAt !== undefined) set.expires_at = changes.expiresAt;
    if (changes.revokedAt !== undefined) set.revoked_at = changes.revokedAt;
    await this.db.transaction().execute(async (trx) => {
      await this.holdPlans(trx, [changes.planId ?? null]);
      await trx.updateTable('keys').set(set).where('id', '=', id).execute();
    });
    return this.get(id);
  }

  async rotate(oldId: string, successor: KeyRecord, oldExpiresAt: number, at: number): Promise<KeyRecord | null> {
    try {
      const rotated = await this.db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('keys')
          .set({ expires_at: oldExpiresAt, replaced_by: successor.id, updated_at: at })
          .where('id', '=', oldId)
          .where('replaced_by', 'is', null)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) return false;
        await this.holdPlans(trx, [successor.planId]);
        await trx.insertInto('keys').values(toRow(successor)).execute();
        return true;
      });
      return rotated ? this.get(oldId) : null;
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflict('a key with this value exists');
      throw err;
    }
  }

  async countByPlan(planId: string): Promise<number> {
    const row = await keysUsingPlan(this.db, planId)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
