import { createServer } from 'node:http';
import { Pool } from 'undici';
const T = { handle: 0, hdr: 0, end: 0, n: 0 };
const END = (await import('node:http')).ServerResponse.prototype.end;
function timedEnd(a, b, c) { const t = performance.now(); const r = END.call(this, a, b, c); T.end += performance.now() - t; return r; }
let cpu = process.cpuUsage(); setInterval(() => { const c = process.cpuUsage(cpu); cpu = process.cpuUsage(); if (T.n) process.stderr.write(`T cpu=${((c.user + c.system) / T.n).toFixed(1)} handle=${(T.handle*1000/T.n).toFixed(2)} hdr=${(T.hdr*1000/T.n).toFixed(2)} end=${(T.end*1000/T.n).toFixed(2)} n=${T.n}\n`); T.handle = T.hdr = T.end = T.n = 0; }, 2000).unref();
const upstream = process.env.UPSTREAM;
const pool = new Pool(upstream, { connections: 128, keepAliveTimeout: 10_000, pipelining: 1 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'te', 'upgrade', 'proxy-connection', 'trailer']);
const server = createServer((req, res) => {
  const a = performance.now();
  res.end = timedEnd;
  const headers = {};
  for (const name in req.headers) if (!HOP.has(name)) headers[name] = req.headers[name];
  pool.stream(
    { path: req.url, method: req.method, headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req, opaque: res },
    ({ statusCode, headers: h, opaque }) => {
      const b = performance.now();
      const out = {};
      for (const name in h) if (!HOP.has(name)) out[name] = h[name];
      opaque.writeHead(statusCode, out);
      T.hdr += performance.now() - b;
      return opaque;
    },
    (err) => {
      if (err && !res.headersSent) { res.writeHead(502); res.end(); } else if (err) res.destroy();
    },
  );
  T.handle += performance.now() - a; T.n++;
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => { process.stdout.write(`listening ${server.address().port}\n`); });
process.on('SIGTERM', () => process.exit(0));
