/**
 * `npm run bench`: Keygate's data plane against a bare node:http + undici proxy, on the same
 * upstream, in the same run, interleaved round by round. Prints requests/s and latency of
 * each and their ratios; writes bench/results/latest.json.
 *
 *   npm run bench -- --seconds 10 --rounds 3 --warmup 5 --connections 50 --targets bare,sqlite
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { adminPost, BENCH_TOKEN, cpuTimeUs, gatewayBin, latencyAtRate, pinToLoadCpu, load, loadTool, median, ROOT, startNode, type LoadResult, type Proc } from './lib.js';
import pg from 'pg';
import { freePort, postgresMissing, redisMissing, startPostgres, startRedis, type TestServer } from '../test/support/servers.js';
import { startupBench, type StartupResult } from './startup.js';
import { verifyBench } from './verify.js';
import { pipelineBench } from './pipeline.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '5' },
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

async function main() {
  const chosen = targets.filter((t) => wanted.includes(t.name));
  process.stderr.write(`load: ${loadTool}, ${connections} connections, ${seconds}s x ${rounds} rounds, targets: ${chosen.map((t) => t.name).join(', ')}\n`);
  const up = await startNode(join(ROOT, 'bench/upstream.js'), [], { PORT: '0' }, /listening (\d+)/, 'load');
  const upstream = `http://127.0.0.1:${up.match[1]}`;
  const results = new Map<string, Array<LoadResult & { cpuPerRequest: number; fixedP50: number; fixedP99: number; addedP99: number }>>();
  let startup: StartupResult | null = null;
  // The latency reference: a second bare proxy, up for the whole run. Each target's latency is
  // measured together with it (in turns over the same seconds, so the machine's slow spells hit
  // both), and the p99 a target adds is its p99 minus the reference's in the same measurement. For the bare target itself,
  // that difference is the noise of the measurement.
  const reference = await targets.find((t) => t.name === 'bare')!.start(upstream);
  try {
    await load(reference.url, reference.headers, connections, warmup);
    for (let round = 1; round <= rounds; round++) {
      // Alternate the order every round, so a drift of the machine's speed hits every target alike.
      for (const target of round % 2 === 1 ? chosen : [...chosen].reverse()) {
        const { proc, url, headers } = await target.start(upstream);
        try {
          await load(url, headers, connections, warmup); // warm-up: JIT, pools, caches
          const cpu0 = cpuTimeUs(proc.child.pid);
          const r = await load(url, headers, connections, seconds);
          const cpu1 = cpuTimeUs(proc.child.pid);
          const cpuPerRequest = cpu0 !== null && cpu1 !== null && r.requests > 0 ? (cpu1 - cpu0) / r.requests : NaN;
          if (r.non2xx > 0 || r.errors > 0) process.stderr.write(`  ! ${target.name}: ${r.non2xx} non-2xx, ${r.errors} socket errors\n`);
          const [ref, fixed] = await latencyAtRate([reference, { url, headers }], rate, connections, seconds);
          const addedP99 = fixed!.p99 - ref!.p99;
          if (fixed!.ok < fixed!.sent) process.stderr.write(`  ! ${target.name}: ${fixed!.sent - fixed!.ok} of ${fixed!.sent} latency probes not answered 200\n`);
          results.set(target.name, [...(results.get(target.name) ?? []), { ...r, cpuPerRequest, fixedP50: fixed!.p50, fixedP99: fixed!.p99, addedP99 }]);
          process.stderr.write(
            `  round ${round} ${target.name.padEnd(10)} ${r.rps.toFixed(0).padStart(7)} req/s, ${cpuPerRequest.toFixed(1)} us CPU/req | at ${rate}/s: p50 ${fixed!.p50.toFixed(2)} ms p99 ${fixed!.p99.toFixed(2)} ms (reference ${ref!.p99.toFixed(2)} ms)\n`,
          );
        } finally {
          await proc.stop();
        }
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
      fixedP50: median(rs.map((r) => r.fixedP50)),
      fixedP99: median(rs.map((r) => r.fixedP99)),
      addedP99: median(rs.map((r) => r.addedP99)),
      best: Math.max(...rs.map((r) => r.rps)),
      bestCpu: Math.min(...rs.map((r) => r.cpuPerRequest)),
    };
  });
  const base = summary.find((s) => s.name === 'bare');
  // The ratio is taken round by round (each target against the baseline of the same round),
  // then the median: a machine that speeds up or slows down between rounds cancels out.
  const bareRounds = results.get('bare');
  const ratioOf = (name: string) =>
    bareRounds ? median(results.get(name)!.map((r, i) => r.rps / bareRounds[i]!.rps)) : NaN;
  const lines = [
    '',
    `medians of ${rounds} interleaved rounds; throughput at ${connections} connections (saturated), latency at a fixed ${rate} req/s over ${connections} connections`,
    `p99 added: the target's p99 minus that of a reference bare proxy measured in turns with it over the same seconds (for the bare proxy itself: the measurement's noise)`,
    `best: each target's fastest round (and lowest CPU per request), against the bare proxy's fastest: on a shared machine, the rounds least disturbed by others`,
    '',
    `target                                          req/s   ratio  CPU us/req | p50 ms   p99 ms   p99 added | best req/s  ratio  CPU us/req`,
  ];
  for (const s of summary) {
    const ratio = base ? ratioOf(s.name).toFixed(3) : '-';
    const added = s.addedP99.toFixed(2);
    lines.push(
      `${s.label.padEnd(46)} ${s.rps.toFixed(0).padStart(7)}   ${ratio.padStart(5)}  ${s.cpu.toFixed(1).padStart(10)} | ${s.fixedP50.toFixed(2).padStart(6)}   ${s.fixedP99.toFixed(2).padStart(6)}   ${added.padStart(6)} ms` +
        ` | ${s.best.toFixed(0).padStart(10)}  ${(base ? s.best / base.best : NaN).toFixed(3)}  ${s.bestCpu.toFixed(1).padStart(10)}`,
    );
  }
  if (results.has('sqlite') && results.has('redis')) {
    const embedded = results.get('sqlite')!;
    const ratio = median(results.get('redis')!.map((r, i) => r.rps / embedded[i]!.rps));
    lines.push('', `Redis mode (exact shared limits) against the embedded mode (SQLite): ${ratio.toFixed(3)}`);
  }
  const own = await pipelineBench();
  const verify = [await verifyBench(100_000), await verifyBench(1_000_000)];
  lines.push(
    '',
    `Keygate's own work per call, in process on one core: pipeline ${(own.pipelineNs / 1000).toFixed(2)} us (guard, key, route, throttle + quota), ` +
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
      { at: new Date().toISOString(), tool: loadTool, connections, seconds, rounds, summary: summary.map((s) => ({ ...s, ratio: base ? ratioOf(s.name) : null })), rounds_detail: Object.fromEntries(results), own, verify, startup },
      null,
      2,
    ) + '\n',
  );
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
