import type { Kysely, Selectable } from 'kysely';
import { StoreConflict, type Page, type PageRequest, type Plan, type PlanChanges, type PlanStore, type QuotaSpec, type ThrottleOverride } from '../interface.js';
import { keysUsingPlan } from './keys.js';
import type { Database, PlansTable } from './schema.js';
import { decodeCursor, isUniqueViolation, toPage } from './util.js';

function toPlan(row: Selectable<PlansTable>): Plan {
  return {
    id: row.id,
    name: row.name,
    rate: Number(row.rate),
    burst: Number(row.burst),
    quota:
      row.quota_limit == null
        ? null
        : { limit: Number(row.quota_limit), period: row.quota_period as QuotaSpec['period'], offset: row.quota_offset },
    timezone: row.timezone,
    overrides: JSON.parse(row.overrides) as ThrottleOverride[],
    autoSuspend: JSON.parse(row.auto_suspend ?? '[]') as string[],
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function quotaColumns(quota: QuotaSpec | null): Pick<PlansTable, 'quota_limit' | 'quota_period' | 'quota_offset'> {
  return { quota_limit: quota?.limit ?? null, quota_period: quota?.period ?? null, quota_offset: quota?.offset ?? null };
}

export class SqlPlanStore implements PlanStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly rowLocks: boolean,
  ) {}

  async insert(plan: Plan): Promise<void> {
    try {
      await this.db
        .insertInto('plans')
        .values({
          id: plan.id,
          name: plan.name,
          rate: plan.rate,
          burst: plan.burst,
          ...quotaColumns(plan.quota),
          timezone: plan.timezone,
          overrides: JSON.stringify(plan.overrides),
          auto_suspend: JSON.stringify(plan.autoSuspend),
          created_at: plan.createdAt,
          updated_at: plan.updatedAt,
        })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflict(`a plan named "${plan.name}" exists`);
      throw err;
    }
  }

  async get(id: string): Promise<Plan | null> {
    const row = await this.db.selectFrom('plans').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toPlan(row) : null;
  }

  async findByName(name: string): Promise<Plan | null> {
    const row = await this.db.selectFrom('plans').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toPlan(row) : null;
  }

  async list(page: PageRequest): Promise<Page<Plan>> {
    let q = this.db.selectFrom('plans').selectAll().orderBy('id').limit(page.limit + 1);
    const after = decodeCursor(page.cursor);
    if (after) q = q.where('id', '>', after);
    return toPage(await q.execute(), page.limit, toPlan);
  }

  async all(): Promise<Plan[]> {
    return (await this.db.selectFrom('plans').selectAll().orderBy('id').execute()).map(toPlan);
  }

  async update(id: string, changes: PlanChanges, at: number): Promise<Plan | null> {
    const set: Partial<PlansTable> = { updated_at: at };
    if (changes.name !== undefined) set.name = changes.name;
    if (changes.rate !== undefined) set.rate = changes.rate;
    if (changes.burst !== undefined) set.burst = changes.burst;
    if (changes.quota !== undefined) Object.assign(set, quotaColumns(changes.quota));
    if (changes.timezone !== undefined) set.timezone = changes.timezone;
    if (changes.overrides !== undefined) set.overrides = JSON.stringify(changes.overrides);
    if (changes.autoSuspend !== undefined) set.auto_suspend = JSON.stringify(changes.autoSuspend);
    try {
      await this.db.updateTable('plans').set(set).where('id', '=', id).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflict(`a plan named "${changes.name}" exists`);
      throw err;
    }
    return this.get(id);
  }

  async delete(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // The plan's row first: on PostgreSQL this waits for key writes that hold the plan
      // (SqlKeyStore.holdPlans), and makes later ones wait for this delete, then find no plan.
      let plan = trx.selectFrom('plans').select('id').where('id', '=', id);
      if (this.rowLocks) plan = plan.forUpdate();
      if (!(await plan.executeTakeFirst())) return false;
      // A statement of its own, so it sees the keys those writes committed.
      const used = await keysUsingPlan(trx, id).select('id').limit(1).executeTakeFirst();
      if (used) return false;
      await trx.deleteFrom('plans').where('id', '=', id).execute();
      return true;
    });
  }
}
