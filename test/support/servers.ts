import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * Throwaway PostgreSQL and Redis servers for the tests: started from the binaries on the PATH
 * (or PostgreSQL's usual Debian directory), on free loopback ports, in temp dirs, with no
 * persistence. A missing binary yields a skip reason instead of a server.
 */

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function which(name: string, extra: string[] = []): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...extra]) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

function postgresDirs(): string[] {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(base, v, 'bin'));
}

async function waitForPort(port: number, child: ChildProcess, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not open port ${port} within ${timeoutMs} ms`);
}

export interface TestServer {
  url: string;
  /** The server's main process id (benchmarks pin it to a CPU). */
  pid(): number | null;
  stop(): Promise<void>;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

export function postgresMissing(): string | null {
  const dirs = postgresDirs();
  if (!which('initdb', dirs) || !which('pg_ctl', dirs)) return 'PostgreSQL binaries (initdb, pg_ctl) not found on the PATH or in /usr/lib/postgresql/*/bin';
  if (userInfo().uid === 0 && spawnSync('id', ['postgres']).status !== 0) return 'running as root but there is no "postgres" user to run PostgreSQL as';
  return null;
}

export function redisMissing(): string | null {
  return which('redis-server') ? null : 'redis-server not found on the PATH (apt-get install -y redis-server)';
}

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` user on a dir it owns. */
function asPostgresUser(cmd: string, args: string[]): [string, string[]] {
  return userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

export async function startPostgres(): Promise<TestServer> {
  const dirs = postgresDirs();
  const initdb = which('initdb', dirs)!;
  const pgCtl = which('pg_ctl', dirs)!;
  const dir = mkdtempSync(join(tmpdir(), 'kg-pg-'));
  if (userInfo().uid === 0) {
    const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(dir, Number(pw.stdout.trim()), Number(gid.stdout.trim()));
  }
  const data = join(dir, 'data');
  const [cmd, args] = asPostgresUser(initdb, ['-D', data, '-A', 'trust', '-U', 'keygate', '--no-sync', '-E', 'UTF8']);
  const init = spawnSync(cmd, args, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  const options = [
    `-p ${port}`, `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off',
    '-c max_connections=500',
  ].join(' ');
  const ctl = (...a: string[]) => {
    const [c, args2] = asPostgresUser(pgCtl, ['-D', data, ...a]);
    return spawnSync(c, args2, { encoding: 'utf8', timeout: 60_000 });
  };
  const started = ctl('-l', join(dir, 'postgres.log'), '-o', options, '-w', 'start');
  if (started.status !== 0) throw new Error(`pg_ctl start failed: ${started.stderr}${started.stdout}`);
  return {
    url: `postgres://keygate@127.0.0.1:${port}/postgres`,
    pid: () => {
      try {
        return Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      } catch {
        return null;
      }
    },
    async stop() {
      ctl('-m', 'immediate', '-w', 'stop');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A redis-server on a free port, or on `port` (to restart one in place). */
export async function startRedis(port?: number): Promise<TestServer & { port: number; child: ChildProcess }> {
  port ??= await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kg-redis-'));
  const child = spawn(
    which('redis-server')!,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no'],
    { stdio: 'ignore' },
  );
  await waitForPort(port, child, 'redis-server');
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    child,
    pid: () => child.pid ?? null,
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
