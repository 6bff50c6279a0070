import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the upstream saw of one request. */
export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  bodyBytes: number;
}

/**
 * A real HTTP upstream on loopback for the proxy tests. Paths:
 * - `/slow?ms=N`: answers after N ms;  `/hang`: never answers;  `/destroy`: drops the connection
 * - `/status/NNN`: answers with that status
 * - `/stream?chunks=N&size=S`: a chunked response of N chunks of S bytes
 * - `/hop`: answers with hop-by-hop headers that must not reach the client
 * - anything else: 200 with JSON `{method, url, headers, bodyBytes}`
 */
export async function startUpstream(): Promise<{ url: string; seen: Seen[]; inflight: () => number; connections: () => number; close(): Promise<void> }> {
  const seen: Seen[] = [];
  let inflight = 0;
  const server: Server = createServer((req, res) => {
    inflight++;
    res.on('close', () => inflight--);
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => (bodyBytes += c.length));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://up');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes });
      const path = url.pathname.replace(/^\/base/, '');
      if (path === '/hang') return;
      if (path === '/destroy') return req.socket.destroy();
      if (path === '/slow') {
        setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ slow: true })), Number(url.searchParams.get('ms') ?? 100));
        return;
      }
      const status = /^\/status\/(\d{3})$/.exec(path);
      if (status) {
        res.writeHead(Number(status[1]), { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ status: Number(status[1]) }));
      }
      if (path === '/stream') {
        const chunks = Number(url.searchParams.get('chunks') ?? 10);
        const size = Number(url.searchParams.get('size') ?? 1024);
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        let sent = 0;
        const next = () => {
          if (sent++ === chunks) return res.end();
          res.write(Buffer.alloc(size, 97), () => setImmediate(next));
        };
        return next();
      }
      if (path === '/hop') {
        res.writeHead(200, { 'content-type': 'text/plain', 'keep-alive': 'timeout=5', 'x-private': 'secret', connection: 'x-private', 'x-public': 'ok' });
        return res.end('hop');
      }
      const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyBytes });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    inflight: () => inflight,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
