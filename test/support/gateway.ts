import { Writable } from 'node:stream';
import type { Clock } from '../../src/clock.js';
import { resolveConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { startGateway, type Gateway } from '../../src/main.js';
import type { BackendConfig } from './backends.js';
import { call, type Answer } from './http.js';

export const ROOT_TOKEN = 'kga_test_root_token_0123456789abcdef';

export interface TestGateway extends Gateway {
  /** Every log line the gateway wrote. */
  logs: string[];
  /** What it printed (bootstrap token). */
  printed: string[];
  /** Admin API call with the root token (or `token`). */
  admin<T = any>(method: string, path: string, body?: unknown, token?: string | null): Promise<Answer<T>>;
  /** Proxy call. */
  proxy<T = any>(path: string, options?: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer }): Promise<Answer<T>>;
  /** Creates an app and a key for it; returns the key's plaintext and ids. */
  newKey(body?: Record<string, unknown>): Promise<{ key: string; id: string; appId: string }>;
}

export interface TestGatewayOptions {
  /** Extra keygate.yaml content, merged over the test defaults. */
  config?: Record<string, unknown>;
  clock?: Clock;
  env?: Record<string, string>;
  /** Without KEYGATE_ADMIN_TOKEN (to see the bootstrap token). */
  noRootToken?: boolean;
}

let appCounter = 0;

export async function startTestGateway(backend: BackendConfig, options: TestGatewayOptions = {}): Promise<TestGateway> {
  const raw = {
    proxy: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    log: { level: 'info' },
    ...backend,
    ...options.config,
  };
  const env = { ...(options.noRootToken ? {} : { KEYGATE_ADMIN_TOKEN: ROOT_TOKEN }), ...options.env };
  const config = resolveConfig(raw, { file: 'test.yaml', env, cwd: backend.dataDir });
  const logs: string[] = [];
  const printed: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const gateway = await startGateway(config, {
    logger: createLogger(config.log.level, sink),
    print: (text) => printed.push(text),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const admin = <T>(method: string, path: string, body?: unknown, token: string | null = ROOT_TOKEN) =>
    call<T>(method, gateway.adminUrl + path, { headers: token ? { authorization: `Bearer ${token}` } : {}, body });
  const t: TestGateway = {
    ...gateway,
    close: () => gateway.close(),
    logs,
    printed,
    admin,
    proxy: (path, o = {}) => call(o.method ?? 'GET', gateway.proxyUrl + path, { headers: o.headers ?? {}, ...(o.body !== undefined ? { rawBody: o.body } : {}) }),
    async newKey(body = {}) {
      const app = await admin<{ id: string }>('POST', '/v1/apps', { name: `app-${process.pid}-${++appCounter}-${Date.now()}` });
      if (app.status !== 201) throw new Error(`app create failed: ${app.text}`);
      const key = await admin<{ id: string; key: string }>('POST', '/v1/keys', { appId: app.body.id, ...body });
      if (key.status !== 201) throw new Error(`key create failed: ${key.text}`);
      return { key: key.body.key, id: key.body.id, appId: app.body.id };
    },
  };
  return t;
}
