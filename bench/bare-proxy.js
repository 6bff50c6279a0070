// The baseline: a bare node:http server forwarding through an undici Pool, with no checks.
// Keygate's data plane is measured against this in the same run.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const upstream = process.env.UPSTREAM;
const pool = new Pool(upstream, { connections: 128, keepAliveTimeout: 10_000, pipelining: 1 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'te', 'upgrade', 'proxy-connection', 'trailer']);

const server = createServer((req, res) => {
  const headers = {};
  for (const name in req.headers) if (!HOP.has(name)) headers[name] = req.headers[name];
  pool.stream(
    { path: req.url, method: req.method, headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req, opaque: res },
    ({ statusCode, headers: h, opaque }) => {
      const out = {};
      for (const name in h) if (!HOP.has(name)) out[name] = h[name];
      opaque.writeHead(statusCode, out);
      return opaque;
    },
    (err) => {
      if (err && !res.headersSent) {
        res.writeHead(502);
        res.end();
      } else if (err) res.destroy();
    },
  );
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
