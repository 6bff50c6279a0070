import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';

/**
 * The backend pairs every behaviour test runs against (Kong's `each_strategy`):
 * SQLite + in-memory limits, and PostgreSQL + Redis.
 */
export interface Backend {
  name: 'sqlite+memory' | 'postgres+redis';
  /** Why this backend is skipped here, or null. */
  skip: string | null;
  /** Storage (and Redis) settings for a fresh, empty cluster. Gateways sharing one pass the same. */
  fresh(): Promise<BackendConfig>;
}

export interface BackendConfig {
  storage: { sqlite: string } | { postgres: string };
  redis?: { url: string; prefix: string; failClosed?: boolean };
  dataDir: string;
}

export async function createDatabase(baseUrl: string): Promise<string> {
  const name = `kg_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export const sqliteBackend: Backend = {
  name: 'sqlite+memory',
  skip: null,
  async fresh() {
    const dataDir = mkdtempSync(join(tmpdir(), 'kg-data-'));
    return { storage: { sqlite: join(dataDir, 'keygate.db') }, dataDir };
  },
};

export const postgresBackend: Backend = {
  name: 'postgres+redis',
  skip: inject('serverSkip'),
  async fresh() {
    const pgUrl = inject('pgUrl');
    const redisUrl = inject('redisUrl');
    if (!pgUrl || !redisUrl) throw new Error('PostgreSQL/Redis not started');
    const dataDir = mkdtempSync(join(tmpdir(), 'kg-data-'));
    return {
      storage: { postgres: await createDatabase(pgUrl) },
      redis: { url: redisUrl, prefix: `kg${randomBytes(4).toString('hex')}:` },
      dataDir,
    };
  },
};

export const backends: Backend[] = [sqliteBackend, postgresBackend];

/** Title of a backend's describe block; says why when it is skipped. */
export function title(backend: Backend): string {
  return backend.skip ? `${backend.name} (SKIPPED: ${backend.skip})` : backend.name;
}
