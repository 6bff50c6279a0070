import { mkdtempSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.js';

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'kg-config-'));
}

function write(text: string): string {
  const d = dir();
  const file = join(d, 'keygate.yaml');
  writeFileSync(file, text);
  return file;
}

function failure(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config loading', () => {
  it('uses the embedded defaults when there is no file', () => {
    const cwd = dir();
    const config = loadConfig({ cwd, env: {} });
    expect(config.proxy).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(config.admin).toMatchObject({ host: '127.0.0.1', port: 8081 });
    expect(config.storage).toEqual({ kind: 'sqlite', path: join(cwd, 'data', 'keygate.db') });
    expect(config.routes).toEqual([
      expect.objectContaining({ path: '/demo', upstream: 'builtin:echo', keySources: ['header'], plans: ['*'], timeoutMs: 30000 }),
    ]);
  });

  it('reads the documented shape and applies environment overrides', () => {
    const file = write(`
proxy:   { host: 127.0.0.1, port: 9000 }
admin:   { host: 127.0.0.1, port: 9001 }
storage: { postgres: "postgres://u:p@localhost/kg" }
redis: "redis://127.0.0.1:6379"
routes:
  - path: /orders
    upstream: http://127.0.0.1:3000/api
    keySources: [header, bearer, "query:api_key"]
    plans: [gold]
    timeoutMs: 5000
`);
    const config = loadConfig({
      path: file,
      env: { KEYGATE_PROXY_PORT: '7000', KEYGATE_ADMIN_PORT: '7001', KEYGATE_ADMIN_TOKEN: 'a-root-token-of-enough-length' },
    });
    expect(config.proxy.port).toBe(7000);
    expect(config.admin.port).toBe(7001);
    expect(config.storage).toEqual({ kind: 'postgres', url: 'postgres://u:p@localhost/kg' });
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:6379', failClosed: false, prefix: 'keygate:' });
    expect(config.adminToken).toBe('a-root-token-of-enough-length');
    expect(config.routes[0]).toMatchObject({ path: '/orders', keySources: ['header', 'bearer', 'query:api_key'], stripPrefix: true });
  });

  it('puts the SQLite file in KEYGATE_DATA_DIR unless storage names one', () => {
    const cwd = dir();
    expect(loadConfig({ cwd, env: { KEYGATE_DATA_DIR: '/srv/kg' } }).storage).toEqual({ kind: 'sqlite', path: '/srv/kg/keygate.db' });
    const file = write('storage: { sqlite: /tmp/other.db }\n');
    expect(loadConfig({ path: file, env: { KEYGATE_DATA_DIR: '/srv/kg' } }).storage).toEqual({ kind: 'sqlite', path: '/tmp/other.db' });
  });

  it('finds KEYGATE_CONFIG', () => {
    const file = write('proxy: { host: 0.0.0.0, port: 1234 }\n');
    expect(loadConfig({ env: { KEYGATE_CONFIG: file } }).proxy.port).toBe(1234);
  });

  it('names the file when it is missing or unreadable', () => {
    const missing = failure(() => loadConfig({ path: '/nonexistent/keygate.yaml', env: {} }));
    expect(missing.message).toBe('/nonexistent/keygate.yaml: file not found');
    const d = dir();
    mkdirSync(join(d, 'sub.yaml'));
    expect(failure(() => loadConfig({ path: join(d, 'sub.yaml'), env: {} })).message).toMatch(/is a directory/);
    if (process.getuid?.() !== 0) {
      const file = write('proxy: {}');
      chmodSync(file, 0);
      expect(failure(() => loadConfig({ path: file, env: {} })).message).toMatch(/permission denied/);
    }
  });

  it('reports invalid YAML with its line', () => {
    const file = write('proxy:\n  port: [1, 2\n');
    const err = failure(() => loadConfig({ path: file, env: {} }));
    expect(err.file).toBe(file);
    expect(err.message).toMatch(/invalid YAML/);
    expect(err.field).toMatch(/line \d+/);
  });

  it.each([
    ['proxy: { host: 127.0.0.1, port: 70000 }', 'proxy.port', /^must be less or equal to 65535$/],
    ['proxy: { host: 127.0.0.1, port: "x" }', 'proxy.port', /^must be an integer$/],
    ['routes: [{ path: demo, upstream: builtin:echo }]', 'routes[0].path', /match '\^\/'/],
    ['routes: [{ path: /a, upstream: "ftp://x" }]', 'routes[0].upstream', /unsupported protocol/],
    ['routes: [{ path: /a, upstream: "not a url" }]', 'routes[0].upstream', /http\(s\) URL/],
    ['routes: [{ path: /a, upstream: builtin:echo, keySources: [cookie] }]', 'routes[0].keySources[0]', /^must match/],
    ['routes: [{ path: /a, upstream: builtin:echo }, { path: /a, upstream: builtin:echo }]', 'routes[1].path', /duplicate/],
    ['proxi: { port: 1 }', 'proxi', /unknown field/],
    ['routes: [{ path: /a, upstream: builtin:echo, timeout: 5 }]', 'routes[0].timeout', /unknown field/],
  ])('names the field for %s', (yaml, field, message) => {
    const err = failure(() => loadConfig({ path: write(yaml), env: {} }));
    expect(err.field).toBe(field);
    expect(err.problem).toMatch(message);
  });

  it('rejects bad environment overrides', () => {
    const cwd = dir();
    expect(failure(() => loadConfig({ cwd, env: { KEYGATE_PROXY_PORT: 'eighty' } })).field).toBe('KEYGATE_PROXY_PORT');
    expect(failure(() => loadConfig({ cwd, env: { KEYGATE_ADMIN_TOKEN: 'short' } })).field).toBe('KEYGATE_ADMIN_TOKEN');
  });
});

describe('keygate.example.yaml', () => {
  it('is a valid configuration equal to the defaults it documents', () => {
    const example = loadConfig({ path: new URL('../../keygate.example.yaml', import.meta.url).pathname, env: {}, cwd: '/srv' });
    const defaults = loadConfig({ cwd: '/srv', env: {} });
    expect({ ...example, source: '' }).toEqual({ ...defaults, source: '' });
  });
});
