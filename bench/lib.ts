import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { request } from 'undici';
import { NODE_FLAGS } from './flags.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CPUS = (() => {
  const r = spawnSync('nproc', [], { encoding: 'utf8' });
  return Number(r.stdout?.trim()) || 1;
})();
const TASKSET = spawnSync('which', ['taskset']).status === 0 && CPUS >= 2;

/**
 * Pins the process under test to the last CPU and the load generator and upstream to the
 * others, so the two sides of a comparison get the same share of a small machine.
 */
export function pinned(cpu: 'server' | 'load', cmd: string, args: string[]): [string, string[]] {
  if (!TASKSET) return [cmd, args];
  const list = cpu === 'server' ? String(CPUS - 1) : CPUS > 2 ? `0-${CPUS - 2}` : '0';
  return ['taskset', ['-c', list, cmd, ...args]];
}

/** Moves a running process (and its threads) to the load generator's CPUs. */
export function pinToLoadCpu(pid: number | null): void {
  if (!TASKSET || pid === null) return;
  const list = CPUS > 2 ? `0-${CPUS - 2}` : '0';
  spawnSync('taskset', ['-a', '-cp', list, String(pid)]);
}

export interface Proc {
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

/** Starts a node script pinned to `cpu` and waits until its output matches `ready`. */
export async function startNode(
  script: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  cpu: 'server' | 'load' = 'server',
  cwd?: string,
): Promise<Proc & { match: RegExpMatchArray }> {
  // The same V8 tuning for every process under test (the one `keygate start` uses).
  const [cmd, argv] = pinned(cpu, process.execPath, [...NODE_FLAGS, script, ...args]);
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
  let out = '';
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // never leave a process behind that did not come up
      reject(new Error(`${script} did not start:\n${out}`));
    }, 30_000);
    const on = (d: Buffer) => {
      out += d.toString();
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}):\n${out}`)));
  });
  return {
    child,
    match,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

/** CPU time (user + system) a process has used so far, in microseconds; null if unknown. */
export function cpuTimeUs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks / CLOCK_TICKS) * 1e6;
  } catch {
    return null;
  }
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

export interface LoadResult {
  rps: number;
  /** Requests completed in the measured run. */
  requests: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

const HAS_WRK = spawnSync('which', ['wrk']).status === 0;

function ms(text: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

/** Drives `url` with `connections` keep-alive connections for `seconds` (wrk if present, else autocannon). */
export async function load(url: string, headers: Record<string, string>, connections: number, seconds: number): Promise<LoadResult> {
  if (HAS_WRK) {
    const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url];
    const [cmd, argv] = pinned('load', 'wrk', args);
    const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
    const out = r.stdout;
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
    const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
    const p50 = ms(/50%\s+(\S+)/.exec(out)?.[1] ?? '');
    const p99 = ms(/99%\s+(\S+)/.exec(out)?.[1] ?? '');
    const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const errors = errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
    if (!Number.isFinite(rps)) throw new Error(`wrk failed: ${r.stderr}${out}`);
    return { rps, requests, p50, p99, errors, non2xx };
  }
  const result = await autocannon({ url, connections, duration: seconds, headers });
  return {
    rps: result.requests.average,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

export const loadTool = HAS_WRK ? 'wrk' : 'autocannon';
export const gatewayBin = `${ROOT}bin/keygate.js`;
export const built = existsSync(`${ROOT}dist/cli/index.js`);

/** One target's latency at a fixed request rate, in milliseconds (`ok`: answered 200). */
export interface LatencyStats {
  sent: number;
  ok: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * Latency below saturation of several targets measured together, from bench/latency-probe.js on
 * the load CPU: `rate` requests/s over `connections` connections, the targets taking turns in
 * 100 ms slices over the same seconds (`seconds` each), after `warmupSeconds` that are not counted.
 */
export async function latencyAtRate(
  targets: Array<{ url: string; headers: Record<string, string> }>,
  rate: number,
  connections: number,
  seconds: number,
  warmupSeconds = 2,
): Promise<LatencyStats[]> {
  const [cmd, argv] = pinned('load', process.execPath, [`${ROOT}bench/latency-probe.js`, JSON.stringify(targets.map(({ url, headers }) => ({ url, headers }))), String(rate), String(connections), String(seconds), String(warmupSeconds)]);
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: (seconds + warmupSeconds + 60) * 1000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    // Percentiles of a target that answered nothing are NaN, which JSON carries as null.
    const stats = JSON.parse(line) as LatencyStats[];
    for (const st of stats) for (const k of ['p50', 'p90', 'p99', 'max'] as const) st[k] ??= NaN;
    return stats;
  } catch {
    throw new Error(`latency probe failed: ${r.stderr}${r.stdout}`);
  }
}

/** The root admin token every benchmark gateway is started with. */
export const BENCH_TOKEN = 'kga_benchmark_root_token_0123456789';

/** POSTs `body` to a benchmark gateway's admin API and returns the answer (throws on an error status). */
export function adminPost(adminPort: number): (path: string, body: unknown) => Promise<Record<string, string>> {
  return async (path, body) => {
    const res = await request(`http://127.0.0.1:${adminPort}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await res.body.json()) as Record<string, string>;
    if (res.statusCode >= 300) throw new Error(`${path}: ${JSON.stringify(json)}`);
    return json;
  };
}
