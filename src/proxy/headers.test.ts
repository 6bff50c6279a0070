import type { IncomingMessage } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HOP_BY_HOP, isHopByHop, upstreamRequestHeaders } from './headers.js';

describe('isHopByHop', () => {
  it('answers as the HOP_BY_HOP set does, for its names, near misses and any string', () => {
    const near = [...HOP_BY_HOP].flatMap((n) => [n.slice(1), `${n}x`, n.replace(/.$/, 'x'), n.toUpperCase()]);
    const common = ['host', 'date', 'content-type', 'content-length', 'x-api-key', 'authorization', 'cookie', 'accept', 'server', 'x-forwarded-for'];
    for (const name of [...HOP_BY_HOP, ...near, ...common, '']) expect(isHopByHop(name), name).toBe(HOP_BY_HOP.has(name));
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...HOP_BY_HOP, ...near), fc.string({ maxLength: 24 })), (name) => isHopByHop(name) === HOP_BY_HOP.has(name)),
      { numRuns: 2000 },
    );
  });
});

describe('upstreamRequestHeaders', () => {
  const request = (headers: Record<string, string | string[]>) => ({ headers }) as unknown as IncomingMessage;

  it('drops hop-by-hop, listed, credential and injected headers; adds identity and x-forwarded-*', () => {
    const out = upstreamRequestHeaders(
      request({
        host: 'api.example.com',
        connection: 'keep-alive, x-secret',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        'x-secret': 'dropped: Connection lists it',
        'x-api-key': 'kg_live_dropped',
        'x-keygate-app-id': 'app_forged',
        'x-forwarded-proto': 'https',
        'x-forwarded-for': '203.0.113.7',
        accept: 'application/json',
        'x-trace': ['a', 'b'],
      }),
      '198.51.100.2',
      ['x-api-key'],
      { appId: 'app_1', keyId: 'key_1', metadata: null },
    );
    expect(out).toEqual([
      'accept',
      'application/json',
      'x-trace',
      'a',
      'x-trace',
      'b',
      'x-forwarded-for',
      '203.0.113.7, 198.51.100.2',
      'x-forwarded-proto',
      'http',
      'x-forwarded-host',
      'api.example.com',
      'x-keygate-app-id',
      'app_1',
      'x-keygate-key-id',
      'key_1',
    ]);
  });
});
