import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { Actor, Auditor } from '../admin/audit.js';
import { PublicError } from '../errors/codes.js';
import type { ChangeBus } from '../store/bus.js';
import { PlanMissing, StoreConflict, type AppStore, type KeyRecord, type KeyStore, type PlanStore } from '../store/interface.js';
import type { CreateKeyInput, KeyService } from './service.js';

/** One row to import: its line (CSV) or position (JSON, from 1), fields by lower-case name. */
export interface ImportRow {
  line: number;
  fields: Record<string, unknown>;
}

export interface ImportFailure {
  line: number;
  code: 'invalid_key' | 'conflict' | 'unknown_app' | 'missing_app' | 'unknown_plan' | 'invalid_field' | 'invalid_csv';
  detail: string;
}

export interface ImportResult {
  imported: number;
  failed: ImportFailure[];
}

const BATCH = 500;
/** Largest CSV accepted in one request. */
export const MAX_IMPORT_BYTES = 512 * 1024 * 1024;

/**
 * Rows of a CSV in the AWS API Gateway key import format (`name,key,description,enabled,
 * usageplanIds`; headers case-insensitive, unknown columns ignored, optional `app`), read as a
 * stream: the file is never held in memory. A row the parser cannot read is yielded as a failure.
 */
export async function* csvRows(input: Readable): AsyncGenerator<ImportRow | ImportFailure> {
  const failures: ImportFailure[] = [];
  let bytes = 0;
  input.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > MAX_IMPORT_BYTES) input.destroy(new PublicError('payload_too_large', `an import may hold at most ${MAX_IMPORT_BYTES / 1048576} MiB; split the file`));
  });
  const parser = input.pipe(
    parse({
      bom: true,
      columns: (header: string[]) => {
        const names = header.map((h) => h.trim().toLowerCase());
        if (!names.includes('key')) throw new PublicError('invalid_request', 'the CSV needs a header row with a "key" column (name,key,description,enabled,usageplanIds)');
        return names;
      },
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
      skip_records_with_error: true,
      info: true,
    }),
  );
  // The parser's own messages quote field values, which may be keys: report only its error code.
  parser.on('skip', (err: Error & { lines?: number; code?: string }) =>
    failures.push({ line: err.lines ?? 0, code: 'invalid_csv', detail: `the row cannot be read as CSV (${err.code ?? 'parse error'})` }),
  );
  input.on('error', (err) => parser.destroy(err));
  for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    while (failures.length) yield failures.shift()!;
    yield { line: info.lines, fields: record };
  }
  while (failures.length) yield failures.shift()!;
}

/** Rows of a JSON import `{items: [...]}`; positions count from 1. */
export function* jsonRows(items: Array<Record<string, unknown>>): Generator<ImportRow> {
  let line = 0;
  for (const item of items) {
    line++;
    yield { line, fields: Object.fromEntries(Object.entries(item).map(([k, v]) => [k.toLowerCase(), v])) };
  }
}

function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const s = String(value).trim();
  return s === '' ? undefined : s;
}

/**
 * Bulk import of existing key values. Each row is checked on its own; good rows land in
 * batches, failing rows are reported with their line, and a value that already exists is a
 * conflict, never an overwrite. Imported keys are stored hashed like generated ones.
 */
export class KeyImporter {
  constructor(
    private readonly keys: KeyService,
    private readonly keyStore: KeyStore,
    private readonly apps: AppStore,
    private readonly plans: PlanStore,
    private readonly auditor: Auditor,
    private readonly bus: ChangeBus,
  ) {}

  async run(actor: Actor, rows: AsyncIterable<ImportRow | ImportFailure> | Iterable<ImportRow | ImportFailure>, defaultAppId: string | undefined): Promise<ImportResult> {
    const failed: ImportFailure[] = [];
    const appIds = new Map<string, string | null>();
    const planIds = new Map<string, string | null>();
    let imported = 0;
    let batch: Array<{ line: number; record: KeyRecord }> = [];
    const seen = new Set<string>();

    const flush = async () => {
      if (batch.length === 0) return;
      imported += await this.store(actor, batch, failed);
      batch = [];
      seen.clear();
      await this.bus.publish({ kind: 'new-keys' });
    };

    for await (const row of rows) {
      if ('code' in row) {
        failed.push(row);
        continue;
      }
      try {
        const input = await this.input(row, defaultAppId, appIds, planIds);
        const { record } = this.keys.build(input);
        if (seen.has(record.hash)) throw new StoreConflict('the same key value appears earlier in this import');
        seen.add(record.hash);
        batch.push({ line: row.line, record });
      } catch (err) {
        failed.push(this.failure(row.line, err));
      }
      if (batch.length >= BATCH) await flush();
    }
    await flush();
    failed.sort((a, b) => a.line - b.line);
    return { imported, failed };
  }

  /** Inserts a batch in one transaction; if some value exists, row by row to find which. */
  private async store(actor: Actor, batch: Array<{ line: number; record: KeyRecord }>, failed: ImportFailure[]): Promise<number> {
    let stored = batch;
    try {
      await this.keyStore.insertMany(batch.map((b) => b.record));
    } catch (err) {
      if (!(err instanceof StoreConflict) && !(err instanceof PlanMissing)) throw err;
      stored = [];
      for (const item of batch) {
        try {
          await this.keyStore.insert(item.record);
          stored.push(item);
        } catch (e) {
          if (e instanceof StoreConflict) failed.push({ line: item.line, code: 'conflict', detail: 'a key with this value already exists' });
          // Its plan was deleted while the import ran.
          else if (e instanceof PlanMissing) failed.push({ line: item.line, code: 'unknown_plan', detail: e.message });
          else throw e;
        }
      }
    }
    await this.auditor.recordMany(stored.map((s) => ({ actor, action: 'key.import', target: s.record.id, before: null, after: this.keys.view(s.record) })));
    return stored.length;
  }

  private async input(row: ImportRow, defaultAppId: string | undefined, appIds: Map<string, string | null>, planIds: Map<string, string | null>): Promise<CreateKeyInput> {
    const f = row.fields;
    const key = f.key === undefined || f.key === null ? undefined : String(f.key);
    if (key === undefined || key === '') throw new ImportError('invalid_key', 'the key is empty');

    const appRef = text(f.app) ?? text(f.appid) ?? defaultAppId;
    if (appRef === undefined) throw new ImportError('missing_app', 'no app: add an "app" column or pass ?appId=');
    let appId = appIds.get(appRef);
    if (appId === undefined) {
      appId = ((await this.apps.get(appRef)) ?? (await this.apps.findByName(appRef)))?.id ?? null;
      appIds.set(appRef, appId);
    }
    if (appId === null) throw new ImportError('unknown_app', `no app with id or name "${appRef}"`);

    const planRef = text(f.usageplanids) ?? text(f.planid) ?? text(f.plan);
    let planId: string | undefined;
    if (planRef !== undefined) {
      if (/[;,]/.test(planRef)) throw new ImportError('invalid_field', 'a key takes one usage plan; usageplanIds lists several');
      let found = planIds.get(planRef);
      if (found === undefined) {
        found = ((await this.plans.get(planRef)) ?? (await this.plans.findByName(planRef)))?.id ?? null;
        planIds.set(planRef, found);
      }
      if (found === null) throw new ImportError('unknown_plan', `no plan with id or name "${planRef}"`);
      planId = found;
    }

    const enabledText = f.enabled;
    let enabled = true;
    if (typeof enabledText === 'boolean') enabled = enabledText;
    else if (text(enabledText) !== undefined) {
      const v = text(enabledText)!.toLowerCase();
      if (v !== 'true' && v !== 'false') throw new ImportError('invalid_field', `enabled must be true or false, not "${text(enabledText)}"`);
      enabled = v === 'true';
    }

    let expiresAt: number | undefined;
    const expires = text(f.expiresat);
    if (expires !== undefined) {
      expiresAt = Date.parse(expires);
      if (Number.isNaN(expiresAt)) throw new ImportError('invalid_field', `expiresAt "${expires}" is not an ISO 8601 time`);
    }

    let metadata: Record<string, unknown> | undefined;
    if (f.metadata !== undefined && f.metadata !== null && f.metadata !== '') {
      const m = typeof f.metadata === 'string' ? safeJson(f.metadata) : f.metadata;
      if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new ImportError('invalid_field', 'metadata must be a JSON object');
      metadata = m as Record<string, unknown>;
    }

    return { appId, key, name: text(f.name), description: text(f.description), planId, enabled, expiresAt, metadata };
  }

  private failure(line: number, err: unknown): ImportFailure {
    if (err instanceof ImportError) return { line, code: err.code, detail: err.message };
    if (err instanceof StoreConflict) return { line, code: 'conflict', detail: err.what };
    if (err instanceof PublicError) {
      const field = ((err.extra?.errors as Array<{ field: string }> | undefined) ?? [])[0]?.field;
      return { line, code: field === 'key' ? 'invalid_key' : 'invalid_field', detail: err.message };
    }
    throw err;
  }
}

class ImportError extends Error {
  constructor(
    readonly code: ImportFailure['code'],
    message: string,
  ) {
    super(message);
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
