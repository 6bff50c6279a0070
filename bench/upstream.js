// The benchmark upstream: a small JSON answer, keep-alive, nothing else.
import { createServer } from 'node:http';

const body = JSON.stringify({ ok: true, items: [1, 2, 3], note: 'keygate benchmark upstream' });
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
