import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../../duration.js';
import { CliError, type AdminClient } from '../client.js';
import type { OutputOptions } from '../output.js';

export interface Context {
  client(): AdminClient;
  opts(): OutputOptions;
}

export function parseJsonOption(flag: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CliError(`${flag} must be valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CliError(`${flag} must be a JSON object`);
  return value as Record<string, unknown>;
}

/** Commander argument parser for durations (`30d`, `24h`, ...), in milliseconds. */
export function durationArg(text: string): number {
  const ms = parseDuration(text);
  if (ms === null) throw new InvalidArgumentError(`"${text}" is not a duration such as 90s, 15m, 24h or 30d`);
  return ms;
}

export function positiveIntArg(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${text}" is not a positive integer`);
  return n;
}

/** Fetches one page, or every page with `--all`. */
export async function collectPages<T>(
  client: AdminClient,
  path: string,
  query: Record<string, string | undefined>,
  opts: { limit: string; cursor?: string; all?: boolean },
): Promise<{ items: T[]; nextCursor: string | null }> {
  const items: T[] = [];
  let cursor = opts.cursor;
  for (;;) {
    const page = await client.get<{ items: T[]; nextCursor: string | null }>(path, { ...query, limit: opts.all ? 1000 : opts.limit, cursor });
    items.push(...page.items);
    if (!opts.all || !page.nextCursor) return { items, nextCursor: opts.all ? null : page.nextCursor };
    cursor = page.nextCursor;
  }
}
