import { sql, type Kysely, type Selectable } from 'kysely';
import type { Alert, AlertFilter, AlertStore, Json, Page } from '../interface.js';
import type { AlertsTable, Database } from './schema.js';
import { decodeCursor, toPage } from './util.js';

function toAlert(row: Selectable<AlertsTable>): Alert {
  return {
    id: row.id,
    ts: Number(row.ts),
    type: row.type,
    severity: row.severity as Alert['severity'],
    keyId: row.key_id,
    appId: row.app_id,
    ip: row.ip,
    detail: JSON.parse(row.detail) as Json,
    suspended: Number(row.suspended) === 1,
    acknowledgedAt: row.acknowledged_at == null ? null : Number(row.acknowledged_at),
    acknowledgedBy: row.acknowledged_by,
  };
}

export class SqlAlertStore implements AlertStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(a: Alert): Promise<void> {
    await this.db
      .insertInto('alerts')
      .values({
        id: a.id,
        ts: a.ts,
        type: a.type,
        severity: a.severity,
        key_id: a.keyId,
        app_id: a.appId,
        ip: a.ip,
        detail: JSON.stringify(a.detail),
        suspended: a.suspended ? 1 : 0,
        acknowledged_at: a.acknowledgedAt,
        acknowledged_by: a.acknowledgedBy,
      })
      .execute();
  }

  async get(id: string): Promise<Alert | null> {
    const row = await this.db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toAlert(row) : null;
  }

  async list(f: AlertFilter): Promise<Page<Alert>> {
    let q = this.db.selectFrom('alerts').selectAll().orderBy('id', 'desc').limit(f.limit + 1);
    const before = decodeCursor(f.cursor);
    if (before) q = q.where('id', '<', before);
    if (f.keyId) q = q.where('key_id', '=', f.keyId);
    if (f.appId) q = q.where('app_id', '=', f.appId);
    if (f.type) q = q.where('type', '=', f.type);
    if (f.status === 'open') q = q.where('acknowledged_at', 'is', null);
    if (f.status === 'acknowledged') q = q.where('acknowledged_at', 'is not', null);
    if (f.from !== undefined) q = q.where('ts', '>=', f.from);
    if (f.to !== undefined) q = q.where('ts', '<', f.to);
    return toPage(await q.execute(), f.limit, toAlert);
  }

  async acknowledge(id: string, by: string, at: number): Promise<Alert | null> {
    await this.db.updateTable('alerts').set({ acknowledged_at: at, acknowledged_by: by }).where('id', '=', id).where('acknowledged_at', 'is', null).execute();
    return this.get(id);
  }

  async loadDetectorState(): Promise<Array<{ entity: string; state: string }>> {
    return this.db.selectFrom('detector_state').select(['entity', 'state']).execute();
  }

  async saveDetectorState(rows: Array<{ entity: string; state: string }>, at: number): Promise<void> {
    for (let i = 0; i < rows.length; i += 200) {
      await this.db
        .insertInto('detector_state')
        .values(rows.slice(i, i + 200).map((r) => ({ ...r, updated_at: at })))
        .onConflict((oc) => oc.column('entity').doUpdateSet({ state: sql`excluded.state`, updated_at: sql`excluded.updated_at` }))
        .execute();
    }
  }
}
