import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { backends, title } from '../support/backends.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startUpstream } from '../support/upstream.js';

/** Sends raw bytes and returns the raw answer (for what an HTTP client library would refuse to send). */
function raw(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let out = '';
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
    setTimeout(() => {
      socket.destroy();
      resolve(out);
    }, 2000);
  });
}

describe.each(backends)('proxy — $name', (backend) => {
  describe.skipIf(backend.skip !== null)(title(backend), () => {
    let gw: TestGateway;
    let up: Awaited<ReturnType<typeof startUpstream>>;
    let key: string;
    let keyId: string;
    let appId: string;

    beforeAll(async () => {
      up = await startUpstream();
      gw = await startTestGateway(await backend.fresh(), {
        config: {
          routes: [
            { path: '/demo', upstream: 'builtin:echo' },
            { path: '/api', upstream: `${up.url}/base`, keySources: ['header', 'bearer'] },
            { path: '/api/v2', upstream: `${up.url}/v2root` },
            { path: '/keep', upstream: up.url, stripPrefix: false },
            { path: '/q', upstream: up.url, keySources: ['query:api_key'] },
            { path: '/only-get', upstream: up.url, methods: ['GET'] },
            { path: '/hosted', upstream: up.url, host: 'api.example.test' },
            { path: '/fast', upstream: up.url, timeoutMs: 300 },
            { path: '/dead', upstream: 'http://127.0.0.1:1' },
            { path: '/meta', upstream: up.url, forwardMetadata: true },
          ],
        },
      });
      ({ key, id: keyId, appId } = await gw.newKey({ metadata: { tier: 'gold' } }));
    });
    afterAll(async () => {
      await gw?.close();
      await up?.close();
    });

    const auth = () => ({ 'x-api-key': key });

    it('routes by longest prefix on whole segments and strips the prefix', async () => {
      const a = await gw.proxy('/api/orders?x=1', { headers: auth() });
      expect(a.status).toBe(200);
      expect(a.body.url).toBe('/base/orders?x=1');
      const b = await gw.proxy('/api/v2/orders', { headers: auth() });
      expect(b.body.url).toBe('/v2root/orders');
      const c = await gw.proxy('/api', { headers: auth() });
      expect(c.body.url).toBe('/base');
      expect((await gw.proxy('/apixyz', { headers: auth() })).body.code).toBe('route_not_found');
      const kept = await gw.proxy('/keep/it', { headers: auth() });
      expect(kept.body.url).toBe('/keep/it');
    });

    it('normalises dot segments before routing', async () => {
      const res = await raw(gw.proxyUrl, `GET /q/../api/orders HTTP/1.1\r\nHost: x\r\nx-api-key: ${key}\r\nConnection: close\r\n\r\n`);
      expect(res).toMatch(/^HTTP\/1.1 200/);
      expect(res).toContain('"url":"/base/orders"');
    });

    it('answers 400 for request targets that are not paths or climb out of their route, and stays up (regression: one such request crashed the process)', async () => {
      for (const target of ['http://[/demo', '//[/.', 'http://a:99999/demo', '/demo/..;/admin', '/api/..%3b/x']) {
        const res = await raw(gw.proxyUrl, `GET ${target} HTTP/1.1\r\nHost: x\r\nx-api-key: ${key}\r\nConnection: close\r\n\r\n`);
        expect(res, target).toMatch(/^HTTP\/1.1 400/);
        expect(res, target).toContain('"code":"bad_request"');
      }
      // An encoded backslash is a slash: this is /admin, which no route serves, not a path under /api.
      expect(await raw(gw.proxyUrl, `GET /api/%2e%2e%5cadmin HTTP/1.1\r\nHost: x\r\nx-api-key: ${key}\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1.1 404/);
      const backslash = await raw(gw.proxyUrl, `GET /q/..%5capi/orders HTTP/1.1\r\nHost: x\r\nx-api-key: ${key}\r\nConnection: close\r\n\r\n`);
      expect(backslash).toMatch(/^HTTP\/1.1 200/);
      expect(backslash).toContain('"url":"/base/orders"');
      expect((await gw.proxy('/api/ok', { headers: auth() })).status).toBe(200);
    });

    it('answers 404 for no route and 405 for a method the route does not allow', async () => {
      const none = await gw.proxy('/nowhere', { headers: auth() });
      expect(none.status).toBe(404);
      expect(none.body.code).toBe('route_not_found');
      const post = await gw.proxy('/only-get/x', { method: 'POST', headers: auth(), body: 'x' });
      expect(post.status).toBe(405);
      expect(post.body.code).toBe('method_not_allowed');
      expect((await gw.proxy('/only-get/x', { headers: auth() })).status).toBe(200);
    });

    it('matches a route by host', async () => {
      expect((await gw.proxy('/hosted/x', { headers: auth() })).status).toBe(404);
      expect((await gw.proxy('/hosted/x', { headers: { ...auth(), host: 'api.example.test:8080' } })).status).toBe(200);
    });

    it('removes the credential, adds identity and x-forwarded-*, drops spoofed x-keygate-*', async () => {
      const res = await gw.proxy('/api/who', {
        headers: {
          ...auth(),
          'x-keygate-key-id': 'spoofed',
          'x-keygate-app-id': 'spoofed',
          'x-forwarded-for': '198.51.100.7',
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'spoofed.example',
          'x-custom': 'kept',
        },
      });
      const h = res.body.headers;
      expect(h['x-api-key']).toBeUndefined();
      expect(h['x-keygate-key-id']).toBe(keyId);
      expect(h['x-keygate-app-id']).toBe(appId);
      expect(h['x-forwarded-for']).toBe('198.51.100.7, 127.0.0.1');
      expect(h['x-forwarded-proto']).toBe('http');
      expect(h['x-forwarded-host']).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(h['x-custom']).toBe('kept');
      expect(h['x-keygate-key-metadata']).toBeUndefined();
    });

    it('accepts Authorization: Bearer where the route allows it, and removes it', async () => {
      const res = await gw.proxy('/api/who', { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
      expect(res.body.headers.authorization).toBeUndefined();
      // The demo route reads only x-api-key.
      expect((await gw.proxy('/demo/who', { headers: { authorization: `Bearer ${key}` } })).body.code).toBe('missing_api_key');
    });

    it('reads a key from the query parameter and removes only that parameter', async () => {
      const res = await gw.proxy(`/q/items?a=1&api_key=${key}&b=2`);
      expect(res.status).toBe(200);
      expect(res.body.url).toBe('/items?a=1&b=2');
      expect((await gw.proxy(`/q/items?api_key=${key}&api_key=${key}`)).body.code).toBe('invalid_api_key');
      expect((await gw.proxy('/q/items?api_key=')).body.code).toBe('missing_api_key');
    });

    it('passes key metadata upstream when the route asks for it', async () => {
      const res = await gw.proxy('/meta/x', { headers: auth() });
      expect(JSON.parse(res.body.headers['x-keygate-key-metadata'])).toEqual({ tier: 'gold' });
      // Any Unicode arrives intact, escaped to ASCII (regression: € made every call a 502).
      const other = await gw.newKey({ metadata: { team: '€uro – Zürich 日本' } });
      const unicode = await gw.proxy('/meta/x', { headers: { 'x-api-key': other.key } });
      expect(unicode.status).toBe(200);
      expect(JSON.parse(unicode.body.headers['x-keygate-key-metadata'])).toEqual({ team: '€uro – Zürich 日本' });
    });

    it('strips hop-by-hop headers in both directions', async () => {
      const res = await raw(
        gw.proxyUrl,
        `GET /api/who HTTP/1.1\r\nHost: x\r\nx-api-key: ${key}\r\nConnection: close, x-drop-me\r\nx-drop-me: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: Basic abc\r\n\r\n`,
      );
      const body = JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4).replace(/^[0-9a-f]+\r\n/, '').replace(/\r\n0\r\n\r\n$/, ''));
      for (const h of ['x-drop-me', 'keep-alive', 'te', 'upgrade', 'proxy-authorization']) expect(body.headers[h]).toBeUndefined();
      const hop = await gw.proxy('/api/hop', { headers: auth() });
      expect(hop.headers['x-public']).toBe('ok');
      expect(hop.headers['x-private']).toBeUndefined();
      expect(hop.headers['keep-alive']).not.toBe('timeout=5');
    });

    it('streams a large request body to the upstream and a chunked response back', async () => {
      const body = Buffer.alloc(8 * 1024 * 1024, 120);
      const res = await gw.proxy('/api/upload', { method: 'POST', headers: { ...auth(), 'content-type': 'application/octet-stream' }, body });
      expect(res.status).toBe(200);
      expect(res.body.bodyBytes).toBe(body.length);
      const streamed = await request(`${gw.proxyUrl}/api/stream?chunks=64&size=65536`, { headers: auth() });
      expect(streamed.statusCode).toBe(200);
      let bytes = 0;
      let chunks = 0;
      for await (const chunk of streamed.body) {
        bytes += (chunk as Buffer).length;
        chunks++;
      }
      expect(bytes).toBe(64 * 65536);
      expect(chunks).toBeGreaterThan(1);
    });

    it('passes upstream statuses through', async () => {
      const res = await gw.proxy('/api/status/418', { headers: auth() });
      expect(res.status).toBe(418);
      expect(res.body).toEqual({ status: 418 });
    });

    it('answers 502 upstream_error when the upstream is unreachable or drops the connection', async () => {
      const dead = await gw.proxy('/dead/x', { headers: auth() });
      expect(dead.status).toBe(502);
      expect(dead.headers['content-type']).toBe('application/problem+json');
      expect(dead.body.code).toBe('upstream_error');
      const dropped = await gw.proxy('/api/destroy', { headers: auth() });
      expect(dropped.status).toBe(502);
      expect(dropped.body.code).toBe('upstream_error');
    });

    it('answers 504 upstream_timeout after the route timeout', async () => {
      const res = await gw.proxy('/fast/hang', { headers: auth() });
      expect(res.status).toBe(504);
      expect(res.body.code).toBe('upstream_timeout');
      expect((await gw.proxy('/fast/slow?ms=10', { headers: auth() })).status).toBe(200);
    });

    it('cancels the upstream call when the client goes away', async () => {
      const before = up.inflight();
      const controller = new AbortController();
      const pending = request(`${gw.proxyUrl}/api/hang`, { headers: auth(), signal: controller.signal }).catch(() => 'aborted');
      const deadline = Date.now() + 5000;
      while (up.inflight() === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(up.inflight()).toBe(before + 1);
      controller.abort();
      expect(await pending).toBe('aborted');
      while (up.inflight() > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(up.inflight()).toBe(before);
    });

    it('answers a problem for requests that are not valid HTTP or have huge headers', async () => {
      const bad = await raw(gw.proxyUrl, 'GARBAGE\r\n\r\n');
      expect(bad).toMatch(/^HTTP\/1.1 400/);
      expect(bad).toContain('"code":"bad_request"');
      const huge = await raw(gw.proxyUrl, `GET /demo/x HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
      expect(huge).toMatch(/^HTTP\/1.1 431/);
      const ctl = await raw(gw.proxyUrl, `GET /demo/x HTTP/1.1\r\nHost: x\r\nx-api-key: abc\x01def\r\n\r\n`);
      expect(ctl).toMatch(/^HTTP\/1.1 400/);
    });

    it('keeps upstream connections alive across requests', async () => {
      expect((await gw.proxy('/api/k', { headers: auth() })).status).toBe(200);
      const before = up.connections();
      for (let i = 0; i < 20; i++) expect((await gw.proxy('/api/k', { headers: auth() })).status).toBe(200);
      // Sequential requests reuse the pooled upstream connection.
      expect(up.connections() - before).toBe(0);
    });
  });
});
