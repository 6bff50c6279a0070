import type { IncomingMessage } from 'node:http';
import type { UsageRecorder } from '../monitor/recorder.js';
import type { RequestContext } from './context.js';

/**
 * The record stage, run after the answer is sent: one usage event per call, handed to the
 * recorder's buffer (aggregation and storage happen in the background, never per request).
 */
export function recordStage(recorder: UsageRecorder) {
  return (ctx: RequestContext, status: number, code: string | null, bytesIn: number, bytesOut: number): void => {
    recorder.record({
      ts: ctx.receivedAt,
      keyId: ctx.principal?.keyId ?? ctx.refusedKeyId,
      appId: ctx.principal?.appId ?? ctx.refusedAppId,
      route: ctx.route.config.path,
      method: ctx.method,
      status,
      latencyMs: performance.now() - ctx.startedAt,
      ip: ctx.clientIp,
      bytesIn,
      bytesOut,
      code,
    });
  };
}

/** Records a request no route took, under the route label `(no route)`. */
export function recordUnrouted(recorder: UsageRecorder) {
  return (req: IncomingMessage, ip: string, status: number, code: string, receivedAt: number, startedAt: number): void => {
    recorder.record({
      ts: receivedAt,
      keyId: null,
      appId: null,
      route: '(no route)',
      method: req.method ?? 'GET',
      status,
      latencyMs: performance.now() - startedAt,
      ip,
      bytesIn: 0,
      bytesOut: 0,
      code,
    });
  };
}
