// Latency below saturation, paired: `connections` keep-alive clients, each sending one request,
// then pausing so that together they send about `rate` requests/s, for `seconds` per target. The targets
// take turns in slices of 100 ms: all of them are measured over the same seconds, so the
// machine's slow spells hit them alike, but never at the same instant (on one CPU they would
// wait for each other). The first `warmup` seconds (new connections, the JIT) are not counted.
// Latency then measures the work per request rather than queueing.
//
// The client is a minimal HTTP/1.1 one on raw sockets (a fixed GET, answers with a
// Content-Length): an HTTP client library's own per-request cost would be measured too, and on
// the shared CPU it would delay the answers of every target.
//
//   node bench/latency-probe.js '[{"url":...,"headers":{...}}, ...]' rate connections seconds warmup
//
// Prints one JSON line: an array, per target, of {sent, ok, p50, p90, p99, max} in milliseconds
// (percentiles over the answered calls; a call on a connection that failed counts as sent only).
import { connect } from 'node:net';

const [targetsJson, rate, connections, seconds, warmup] = process.argv.slice(2);
const clients = Number(connections);
const SLICE_MS = 100;
const started = performance.now();
const pauseMs = (clients * 1000) / Number(rate);
const counted = started + Number(warmup ?? 2) * 1000;

const targets = JSON.parse(targetsJson).map(({ url, headers }) => {
  const u = new URL(url);
  const lines = [`GET ${u.pathname}${u.search} HTTP/1.1`, `host: ${u.host}`, ...Object.entries(headers ?? {}).map(([k, v]) => `${k}: ${v}`)];
  return { host: u.hostname, port: Number(u.port), request: Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), latencies: [], sent: 0, ok: 0 };
});

// Each target gets `seconds` of its own: the measurement lasts `seconds` per target.
const end = counted + Number(seconds) * targets.length * 1000;

const HEAD_END = Buffer.from('\r\n\r\n');

/** One keep-alive connection to a target; `send(done)` calls done(status) once the whole answer is in. */
function connection(target) {
  const socket = connect({ host: target.host, port: target.port, noDelay: true });
  let pending = Buffer.alloc(0);
  let done = null;
  let need = -1; // bytes of the answer still expected once its head is parsed; -1: head not complete
  let status = 0;
  /** Hands the answer's status (0: none) to the caller waiting for it, once. */
  const answer = (code) => {
    const callback = done;
    done = null;
    callback?.(code);
  };
  socket.on('data', (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    if (need === -1) {
      const at = pending.indexOf(HEAD_END);
      if (at === -1) return;
      const head = pending.toString('latin1', 0, at);
      status = Number(head.slice(9, 12));
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      need = (length ? Number(length[1]) : 0) + at + 4;
    }
    if (pending.length < need) return;
    pending = pending.subarray(need);
    need = -1;
    answer(status);
  });
  const fail = () => answer(0);
  socket.on('error', fail);
  socket.on('close', fail);
  return {
    send(callback) {
      if (socket.destroyed) return setImmediate(callback, 0); // counted as not answered
      done = callback;
      socket.write(target.request);
    },
    close: () => socket.end(),
  };
}

function client(i, finished) {
  const links = targets.map((t) => ({ target: t, link: connection(t) }));
  const tick = () => {
    const began = performance.now();
    if (began >= end) {
      for (const { link } of links) link.close();
      return finished();
    }
    const record = began >= counted;
    const { target, link } = links[Math.floor((began - started) / SLICE_MS) % links.length];
    link.send((status) => {
      if (record) {
        target.sent++;
        if (status !== 0) target.latencies.push(performance.now() - began);
        if (status === 200) target.ok++;
      }
      setTimeout(tick, Math.max(0, pauseMs - (performance.now() - began)));
    });
  };
  setTimeout(tick, (pauseMs * i) / clients); // spread the clients over one period
}

await Promise.all(Array.from({ length: clients }, (_, i) => new Promise((resolve) => client(i, resolve))));
const out = targets.map(({ latencies, sent, ok }) => {
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { sent, ok, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: latencies.at(-1) ?? NaN };
});
process.stdout.write(JSON.stringify(out) + '\n');
