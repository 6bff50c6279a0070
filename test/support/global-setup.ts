import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { postgresMissing, redisMissing, startPostgres, startRedis, type TestServer } from './servers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string | null;
    redisUrl: string | null;
    serverSkip: string | null;
  }
}

/**
 * Starts one PostgreSQL and one Redis for the whole run (each test gateway gets its own
 * database and Redis key prefix). Without the binaries, the PostgreSQL+Redis suites are
 * skipped and the reason is printed.
 */
export default async function setup(project: TestProject) {
  // End-to-end tests run the built binary: make sure dist/ matches src/.
  execFileSync(process.execPath, [fileURLToPath(new URL('../../scripts/build-if-needed.js', import.meta.url))], { stdio: 'inherit' });
  const reason = postgresMissing() ?? redisMissing();
  const servers: TestServer[] = [];
  if (reason) {
    process.stderr.write(`\n[keygate tests] PostgreSQL+Redis backend SKIPPED: ${reason}\n\n`);
    project.provide('pgUrl', null);
    project.provide('redisUrl', null);
    project.provide('serverSkip', reason);
  } else {
    const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    servers.push(pg, redis);
    project.provide('pgUrl', pg.url);
    project.provide('redisUrl', redis.url);
    project.provide('serverSkip', null);
  }
  return async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
}
