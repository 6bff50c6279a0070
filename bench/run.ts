/**
 * `npm run bench`: Keygate's data plane against a bare node:http + undici proxy, on the same
 * upstream, in the same run. Each round starts a fresh process per target; their throughput is
 * measured in turns of `--slice` seconds, so each slice of a target is compared with the bare
 * proxy's slice next to it in time. Prints requests/s and latency of each and their ratios;
 * writes bench/results/latest.json.
 *
 *   npm run bench -- --seconds 10 --slice 1 --rounds 3 --warmup 5 --connections 50 --targets bare,sqlite
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { adminPost, BENCH_TOKEN, cpuTimeUs, gatewayBin, latencyAtRate, pinToLoadCpu, load, loadTool, ROOT, startNode, type LoadResult, type Proc } from './lib.js';
import { finite, median, medianInterval, ms } from './stats.js';
import pg from 'pg';
import { freePort, postgresMissing, redisMissing, startPostgres, startRedis, type TestServer } from '../test/support/servers.js';
import { startupBench, type StartupResult } from './startup.js';
import { verifyBench } from './verify.js';
import { pipelineBench } from './pipeline.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    slice: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '6' },
    connections: { type: 'string', default: '50' },
    targets: { type: 'string', default: 'bare,sqlite,postgres,redis' },
    rate: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '5' },
    'startup-keys': { type: 'string', default: '1000000' },
  },
});
const rate = Number(values.rate);
const warmup = Number(values.warmup);
const startupKeys = Number(values['startup-keys']);
const seconds = Number(values.seconds);
const slice = Math.max(1, Math.round(Number(values.slice)));
const slicesPerRound = Math.max(1, Math.round(seconds / slice));
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const wanted = values.targets!.split(',');


interface Target {
  name: string;
  label: string;
  start(upstream: string): Promise<{ proc: Proc; url: string; headers: Record<string, string> }>;
}

/** A Keygate gateway process on `storage`, with one app and one key, warmed up. */
async function startKeygate(upstream: string, storage: string, extra = '', withPlan = true): Promise<{ proc: Proc; url: string; headers: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'kg-bench-'));
  const proxyPort = await freePort();
  const adminPort = await freePort();
  const config = join(dir, 'keygate.yaml');
  writeFileSync(
    config,
    `proxy: { host: 127.0.0.1, port: ${proxyPort} }\nadmin: { host: 127.0.0.1, port: ${adminPort} }\n${storage}\n${extra}\n` +
      `log: { level: info }\nroutes:\n  - { path: /bench, upstream: "${upstream}" }\n`,
  );
  const proc = await startNode(gatewayBin, ['start', '--config', config], { KEYGATE_ADMIN_TOKEN: BENCH_TOKEN, KEYGATE_DATA_DIR: dir }, /keygate started/, 'server', dir);
  await new Promise((r) => setTimeout(r, 500));
  const admin = adminPost(adminPort);
  const app = await admin('/v1/apps', { name: 'bench' });
  // The full pipeline: a plan with a throttle and a quota, generous enough never to refuse.
  const plan = await admin('/v1/plans', { name: 'bench', rate: 1_000_000, burst: 1_000_000, quota: { limit: 1_000_000_000_000, period: 'month' } });
  const key = await admin('/v1/keys', withPlan ? { appId: app.id, planId: plan.id } : { appId: app.id });
  return { proc, url: `http://127.0.0.1:${proxyPort}/bench/items`, headers: { 'x-api-key': key.key! } };
}

/** PostgreSQL and Redis for the cluster-mode targets, started on first use. */
let servers: { pg: TestServer; redis: TestServer } | null = null;
async function clusterServers(): Promise<{ pg: TestServer; redis: TestServer }> {
  if (!servers) {
    const missing = postgresMissing() ?? redisMissing();
    if (missing) throw new Error(`cannot run the PostgreSQL/Redis targets: ${missing}`);
    servers = { pg: await startPostgres(), redis: await startRedis() };
    // Database servers run beside the upstream and the load generator, not on the gateway's CPU.
    for (const server of [servers.pg, servers.redis]) pinToLoadCpu(server.pid());
  }
  return servers;
}

async function freshDatabase(baseUrl: string): Promise<string> {
  const name = `kg_bench_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  await client.query(`create database ${name}`);
  await client.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

const targets: Target[] = [
  {
    name: 'bare',
    label: 'bare node:http + undici proxy (no checks)',
    async start(upstream) {
      const port = await freePort();
      const proc = await startNode(join(ROOT, 'bench/bare-proxy.js'), [], { UPSTREAM: upstream, PORT: String(port) }, /listening/);
      return { proc, url: `http://127.0.0.1:${port}/items`, headers: { 'x-api-key': 'unused-by-the-bare-proxy' } };
    },
  },
  {
    name: 'sqlite',
    label: 'keygate, SQLite, in-process limits',
    start: (upstream) => startKeygate(upstream, 'storage: { sqlite: keygate.db }'),
  },
  {
    // Not run by default: the key check alone (a key without a plan), recording still on.
    name: 'keys',
    label: 'keygate, SQLite, key check only (no plan)',
    start: (upstream) => startKeygate(upstream, 'storage: { sqlite: keygate.db }', '', false),
  },
  {
    name: 'postgres',
    label: 'keygate, PostgreSQL (warm cache), node limits',
    async start(upstream) {
      const { pg: server } = await clusterServers();
      return startKeygate(upstream, `storage: { postgres: "${await freshDatabase(server.url)}" }`);
    },
  },
  {
    name: 'redis',
    label: 'keygate, PostgreSQL + Redis, exact shared limits',
    async start(upstream) {
      const { pg: server, redis } = await clusterServers();
      return startKeygate(upstream, `storage: { postgres: "${await freshDatabase(server.url)}" }\nredis: "${redis.url}"`);
    },
  },
];

/** Resumes the targets stopped between turns (set while a round runs). */
let resumeAll: (() => void) | null = null;
/** Every process the benchmark started (upstream, proxies, gateways), ended if it is interrupted. */
const live = new Set<Proc>();
// A stopped process ignores SIGINT and SIGTERM until it is resumed: when interrupted, resume the
// targets and end them, so that none stays behind, stopped.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    resumeAll?.();
    for (const p of live) p.child.kill('SIGTERM');
    process.exit(130);
  });
}

async function main() {
  const chosen = targets.filter((t) => wanted.includes(t.name));
  process.stderr.write(`load: ${loadTool}, ${connections} connections, ${seconds}s x ${rounds} rounds in turns of ${slice} s, targets: ${chosen.map((t) => t.name).join(', ')}\n`);
  const up = await startNode(join(ROOT, 'bench/upstream.js'), [], { PORT: '0' }, /listening (\d+)/, 'load');
  live.add(up);
  const upstream = `http://127.0.0.1:${up.match[1]}`;
  const results = new Map<string, Array<LoadResult & { cpuPerRequest: number; fixedP50: number; fixedP99: number; addedP99: number }>>();
  // Requests/s of every slice, in the same order for every target: slice i of one target ran
  // right next to slice i of the others.
  const slices = new Map<string, number[]>(chosen.map((t) => [t.name, []]));
  let startup: StartupResult | null = null;
  // The latency reference: a second bare proxy, up for the whole run. Each target's latency is
  // measured together with it (in turns over the same seconds, so the machine's slow spells hit
  // both), and the p99 a target adds is its p99 minus the reference's in the same measurement. For the bare target itself,
  // that difference is the noise of the measurement.
  const reference = await targets.find((t) => t.name === 'bare')!.start(upstream);
  live.add(reference.proc);
  try {
    await load(reference.url, reference.headers, connections, warmup);
    for (let round = 1; round <= rounds; round++) {
      // Fresh processes every round: identical processes differ by a few per cent, so each round
      // draws new ones.
      const running: Array<{ target: Target; proc: Proc; url: string; headers: Record<string, string> }> = [];
      try {
        for (const target of chosen) running.push({ target, ...(await target.start(upstream)) });
        // Only the target being measured runs; the others are stopped (SIGSTOP), so that not even
        // an idle gateway's timers take CPU from it.
        const only = (measured: (typeof running)[number]) => {
          for (const r of running) process.kill(r.proc.child.pid!, r === measured ? 'SIGCONT' : 'SIGSTOP');
        };
        resumeAll = () => {
          for (const r of running) process.kill(r.proc.child.pid!, 'SIGCONT');
        };
        for (const r of running) live.add(r.proc);
        for (const r of running) {
          only(r);
          await load(r.url, r.headers, connections, warmup); // warm-up: JIT, pools, caches
        }
        const totals = new Map(running.map((r) => [r.target.name, { requests: 0, cpu: 0, p50: [] as number[], p99: [] as number[], errors: 0, non2xx: 0 }]));
        // Throughput in turns of `slice` seconds, the order alternating, so a slow spell of the
        // machine hits the targets alike instead of whichever ran in its seconds.
        for (let i = 0; i < slicesPerRound; i++) {
          for (const r of i % 2 === 0 ? running : [...running].reverse()) {
            await setImmediate(); // the load runs synchronously: let a Ctrl-C be handled between turns
            only(r);
            const cpu0 = cpuTimeUs(r.proc.child.pid);
            const l = await load(r.url, r.headers, connections, slice);
            const cpu1 = cpuTimeUs(r.proc.child.pid);
            const t = totals.get(r.target.name)!;
            t.requests += l.requests;
            t.cpu += cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : NaN;
            t.p50.push(l.p50);
            t.p99.push(l.p99);
            t.errors += l.errors;
            t.non2xx += l.non2xx;
            slices.get(r.target.name)!.push(l.rps);
          }
        }
        for (const r of running) {
          const t = totals.get(r.target.name)!;
          const rs = slices.get(r.target.name)!.slice(-slicesPerRound);
          if (t.non2xx > 0 || t.errors > 0) process.stderr.write(`  ! ${r.target.name}: ${t.non2xx} non-2xx, ${t.errors} socket errors\n`);
          only(r);
          const [ref, fixed] = await latencyAtRate([reference, { url: r.url, headers: r.headers }], rate, connections, seconds);
          const addedP99 = fixed!.p99 - ref!.p99;
          if (fixed!.ok < fixed!.sent) process.stderr.write(`  ! ${r.target.name}: ${fixed!.sent - fixed!.ok} of ${fixed!.sent} latency probes not answered 200\n`);
          const child = r.proc.child;
          if (child.exitCode !== null || child.signalCode !== null) {
            const tail = r.proc.output().trimEnd().split('\n').slice(-15).join('\n    ');
            process.stderr.write(`  ! ${r.target.name}: the gateway exited (${child.exitCode ?? child.signalCode}); its last output:\n    ${tail}\n`);
          }
          const result = {
            rps: t.requests / (slicesPerRound * slice),
            requests: t.requests,
            p50: median(t.p50),
            p99: median(t.p99),
            errors: t.errors,
            non2xx: t.non2xx,
            cpuPerRequest: t.requests > 0 ? t.cpu / t.requests : NaN,
            fixedP50: fixed!.p50,
            fixedP99: fixed!.p99,
            addedP99,
          };
          results.set(r.target.name, [...(results.get(r.target.name) ?? []), result]);
          process.stderr.write(
            `  round ${round} ${r.target.name.padEnd(10)} ${result.rps.toFixed(0).padStart(7)} req/s (slices ${rs.map((v) => v.toFixed(0)).join(' ')}), ${result.cpuPerRequest.toFixed(1)} us CPU/req` +
              ` | at ${rate}/s: p50 ${ms(fixed!.p50)} ms p99 ${ms(fixed!.p99)} ms (reference ${ms(ref!.p99)} ms)\n`,
          );
        }
      } finally {
        resumeAll?.();
        resumeAll = null;
        await Promise.all(running.map((r) => r.proc.stop()));
        for (const r of running) live.delete(r.proc);
      }
    }
    if (startupKeys > 0) startup = await startupBench(upstream, startupKeys);
  } finally {
    await reference.proc.stop();
    await up.stop();
    if (servers) await Promise.all([servers.pg.stop(), servers.redis.stop()]);
  }

  const summary = chosen.map((t) => {
    const rs = results.get(t.name)!;
    return {
      name: t.name,
      label: t.label,
      rps: median(rs.map((r) => r.rps)),
      cpu: median(rs.map((r) => r.cpuPerRequest)),
      p99: median(rs.map((r) => r.p99)),
      // A round whose probe got no answers (its gateway gone) has no latency: left out.
      fixedP50: median(finite(rs.map((r) => r.fixedP50))),
      fixedP99: median(finite(rs.map((r) => r.fixedP99))),
      addedP99: median(finite(rs.map((r) => r.addedP99))),
      best: Math.max(...slices.get(t.name)!),
      bestCpu: Math.min(...rs.map((r) => r.cpuPerRequest)),
    };
  });
  const base = summary.find((s) => s.name === 'bare');
  // The ratio is taken slice by slice (each target against the baseline's slice next to it in
  // time), then the median: a machine that speeds up or slows down cancels out. The interval
  // comes from the rounds, not the turns: turns of one round share their processes, and
  // identical processes differ by several per cent, so only fresh rounds say how far this
  // run's figure could be from another run's.
  const pairedRatio = (name: string, baseline: string) => {
    const of = slices.get(name);
    const by = slices.get(baseline);
    if (!of || !by) return null;
    const ratios = of.map((v, i) => v / by[i]!);
    const byRound = Array.from({ length: rounds }, (_, r) => median(ratios.slice(r * slicesPerRound, (r + 1) * slicesPerRound)));
    return { ratio: median(ratios), interval: medianInterval(byRound), roundRatios: byRound };
  };
  const shown = (p: ReturnType<typeof pairedRatio>) =>
    p === null ? '-' : `${p.ratio.toFixed(3)} (${p.interval ? p.interval.map((v) => v.toFixed(3)).join('-') : `${rounds} rounds: too few`})`;
  const ratioOf = (name: string) => (base ? pairedRatio(name, 'bare') : null);
  const lines = [
    '',
    `${rounds} rounds of fresh processes, each measured in ${slicesPerRound} turns of ${slice} s; throughput at ${connections} connections (saturated), latency at a fixed ${rate} req/s over ${connections} connections`,
    `ratio: the median over all turns of a target's requests/s against the bare proxy's in the turn next to it; in brackets, a 95% confidence interval for it from the rounds' own ratios (distribution-free: order statistics; at least 6 rounds)`,
    `p99 added: the target's p99 minus that of a reference bare proxy measured in turns with it over the same seconds (for the bare proxy itself: the measurement's noise)`,
    `best: each target's fastest turn (and lowest CPU per request of a round), against the bare proxy's fastest: on a shared machine, the seconds least disturbed by others`,
    '',
    `target                                          req/s   ratio (95% interval)  CPU us/req | p50 ms   p99 ms   p99 added | best req/s  ratio  CPU us/req`,
  ];
  for (const s of summary) {
    const ratio = shown(ratioOf(s.name));
    lines.push(
      `${s.label.padEnd(46)} ${s.rps.toFixed(0).padStart(7)}   ${ratio.padEnd(19)}  ${s.cpu.toFixed(1).padStart(10)} | ${ms(s.fixedP50).padStart(6)}   ${ms(s.fixedP99).padStart(6)}   ${ms(s.addedP99).padStart(6)} ms` +
        ` | ${s.best.toFixed(0).padStart(10)}  ${(base ? s.best / base.best : NaN).toFixed(3)}  ${s.bestCpu.toFixed(1).padStart(10)}`,
    );
  }
  const redisToSqlite = results.has('sqlite') && results.has('redis') ? pairedRatio('redis', 'sqlite') : null;
  if (redisToSqlite) lines.push('', `Redis mode (exact shared limits) against the embedded mode (SQLite): ${shown(redisToSqlite)}`);
  const own = await pipelineBench();
  const verify = [await verifyBench(100_000), await verifyBench(1_000_000)];
  lines.push(
    '',
    `Keygate's own work per call, in process on one core: pipeline ${(own.pipelineNs / 1000).toFixed(2)} us (guard, key of a keep-alive client, route, throttle + quota), ` +
      `record ${(own.recordNs / 1000).toFixed(2)} us (event, aggregation, metrics, detectors)` +
      (base ? `; together ${(((own.pipelineNs + own.recordNs) / 1000 / base.cpu) * 100).toFixed(1)}% of the bare proxy's ${base.cpu.toFixed(1)} us CPU per call` : ''),
    ...verify.map(
      (v) =>
        `key verification, warm cache, one core, ${v.keys.toLocaleString('en')} cached keys: ${(v.hot / 1e6).toFixed(2)} M/s on a hot set of 4,096, ` +
        `${(v.uniform / 1e6).toFixed(2)} M/s drawn uniformly from all`,
    ),
  );
  if (startup) {
    lines.push(
      `start-up: ${startup.startSmall.toFixed(0)} ms with ${startup.sample} keys, ${startup.startLarge.toFixed(0)} ms with ${startup.keys.toLocaleString('en')} more;` +
        ` a call with an uncached key: ${startup.coldSmall.toFixed(2)} ms / ${startup.coldLarge.toFixed(2)} ms (median)`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench/results/latest.json'),
    JSON.stringify(
      { at: new Date().toISOString(), tool: loadTool, connections, seconds, rounds, slicesPerRound, summary: summary.map((s) => ({ ...s, ...ratioOf(s.name) })), redisToSqlite, rounds_detail: Object.fromEntries(results), slices: Object.fromEntries(slices), slice, own, verify, startup },
      null,
      2,
    ) + '\n',
  );
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
