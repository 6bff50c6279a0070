// Latency below saturation: `connections` closed-loop clients, each sending one request, then
// pausing so that together they send about `rate` requests/s, for `seconds`. Latency then
// measures the work per request rather than queueing.
// Prints one JSON line: {sent, ok, p50, p90, p99, max} in milliseconds.
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

const [url, rate, connections, seconds, headerJson] = process.argv.slice(2);
const target = new URL(url);
const headers = JSON.parse(headerJson ?? '{}');
const clients = Number(connections);
const pool = new Pool(target.origin, { connections: clients, pipelining: 1 });
const pauseMs = (clients * 1000) / Number(rate);
const end = performance.now() + Number(seconds) * 1000;
const latencies = [];
let ok = 0;

async function client(i) {
  await sleep((pauseMs * i) / clients); // spread the clients over one period
  while (performance.now() < end) {
    const start = performance.now();
    const res = await pool.request({ path: target.pathname, method: 'GET', headers });
    await res.body.dump();
    const took = performance.now() - start;
    latencies.push(took);
    if (res.statusCode === 200) ok++;
    await sleep(Math.max(0, pauseMs - took));
  }
}

await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
await pool.close();
latencies.sort((a, b) => a - b);
const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
process.stdout.write(JSON.stringify({ sent: latencies.length, ok, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: latencies.at(-1) }) + '\n');
