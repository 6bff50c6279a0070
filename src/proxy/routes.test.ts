import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/load.js';
import { prepareRoute, RouteTable } from './routes.js';

function table(routes: unknown[]) {
  const config = resolveConfig({ routes });
  return new RouteTable(config.routes.map((r) => prepareRoute(r, 'http://127.0.0.1:9')));
}

describe('route table', () => {
  const t = table([
    { path: '/', upstream: 'http://root' },
    { path: '/api', upstream: 'http://api/base/' },
    { path: '/api/v2', upstream: 'http://v2' },
    { path: '/get', upstream: 'http://g', methods: ['get'] },
    { path: '/h', upstream: 'http://h', host: 'Example.test' },
    { path: '/demo', upstream: 'builtin:echo' },
  ]);
  const path = (host: string | undefined, method: string, p: string) => {
    const route = t.match(host, method, p);
    return route ? route.config.path : t.methodMismatch(host, p) ? 405 : 404;
  };

  it('picks the longest prefix on whole segments', () => {
    expect(path(undefined, 'GET', '/api/v2/x')).toBe('/api/v2');
    expect(path(undefined, 'GET', '/api/v22')).toBe('/api');
    expect(path(undefined, 'GET', '/api')).toBe('/api');
    expect(path(undefined, 'GET', '/apix')).toBe('/');
    expect(path(undefined, 'GET', '/')).toBe('/');
  });

  it('filters by method and host, falling back to shorter prefixes', () => {
    expect(path(undefined, 'GET', '/get/x')).toBe('/get');
    expect(path(undefined, 'POST', '/get/x')).toBe('/');
    expect(path('example.test:8080', 'GET', '/h/1')).toBe('/h');
    expect(path('other.test', 'GET', '/h/1')).toBe('/');
    const only = table([{ path: '/get', upstream: 'http://g', methods: ['GET'] }]);
    expect(only.match(undefined, 'PUT', '/get')).toBeNull();
    expect(only.methodMismatch(undefined, '/get')).toBe(true);
    expect(only.methodMismatch(undefined, '/other')).toBe(false);
    // No route names a host: any Host header (or none) reaches them.
    expect(only.match('Anything.test:81', 'GET', '/get/1')?.config.path).toBe('/get');
    expect(only.methodMismatch('[::1]:80', '/get')).toBe(true);
  });

  it('splits upstream origin and base path; builtin:echo goes to the echo server', () => {
    const api = t.match(undefined, 'GET', '/api')!;
    expect(api.origin).toBe('http://api');
    expect(api.basePath).toBe('/base');
    expect(t.match(undefined, 'GET', '/demo/x')!.origin).toBe('http://127.0.0.1:9');
  });
});
