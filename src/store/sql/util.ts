import type { Json, Page } from '../interface.js';

/** True for a unique-constraint violation on either backend. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string } | null;
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

/** The id a cursor stands for, or undefined when there is none. A garbled cursor reads as the start. */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (!cursor) return undefined;
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

/** Turns `limit + 1` fetched rows into a page. */
export function toPage<R, T extends { id: string }>(rows: R[], limit: number, map: (row: R) => T): Page<T> {
  const items = rows.slice(0, limit).map(map);
  const nextCursor = rows.length > limit ? encodeCursor(items[items.length - 1]!.id) : null;
  return { items, nextCursor };
}

export function toJson(value: Json | null | undefined): string | null {
  return value == null ? null : JSON.stringify(value);
}

export function fromJson(text: string | null): Json | null {
  return text == null ? null : (JSON.parse(text) as Json);
}
