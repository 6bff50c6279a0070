import type { Clock } from '../../clock.js';
import { newId } from '../../ids.js';
import type { KeyService } from '../../keys/service.js';
import type { Logger } from '../../log.js';
import type { PlanDirectory } from '../../plans/directory.js';
import type { Alert, AlertStore, KeyStore } from '../../store/interface.js';
import type { UsageEvent } from '../events.js';
import type { Metrics } from '../metrics.js';
import type { DetectionEngine, Detection } from './engine.js';
import type { WebhookNotifier } from './webhook.js';

export interface AlertView {
  id: string;
  ts: string;
  type: string;
  severity: string;
  keyId: string | null;
  appId: string | null;
  ip: string | null;
  detail: Record<string, unknown>;
  suspended: boolean;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
}

export function alertView(a: Alert): AlertView {
  return {
    id: a.id,
    ts: new Date(a.ts).toISOString(),
    type: a.type,
    severity: a.severity,
    keyId: a.keyId,
    appId: a.appId,
    ip: a.ip,
    detail: a.detail,
    suspended: a.suspended,
    acknowledgedAt: a.acknowledgedAt === null ? null : new Date(a.acknowledgedAt).toISOString(),
    acknowledgedBy: a.acknowledgedBy,
  };
}

/**
 * Online detection: runs the engine over the (merged, time-ordered) stream of calls, and for
 * each alert: stores it, suspends the key if the plan or the config says so, sends it to the
 * webhook. Alerts are handled one at a time, in order, off the request path.
 */
export class DetectionService {
  private chain: Promise<void> = Promise.resolve();
  private persistTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly engine: DetectionEngine,
    private readonly alerts: AlertStore,
    private readonly keys: KeyService,
    private readonly keyStore: KeyStore,
    private readonly plans: PlanDirectory,
    private readonly options: { autoSuspend: readonly string[]; webhook: WebhookNotifier | null },
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  /** Loads the detectors' memory, and saves it every minute from now on. */
  async start(): Promise<void> {
    try {
      this.engine.importState(await this.alerts.loadDetectorState());
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'detector memory not loaded; detectors warm up again');
    }
    this.persistTimer = setInterval(() => void this.persist(), 60_000);
    this.persistTimer.unref();
  }

  /** Feeds events (in time order); alerts are handled in the background, in order. */
  feed(events: readonly UsageEvent[]): void {
    const found: Detection[] = [];
    for (const e of events) for (const d of this.engine.process(e)) found.push(d);
    if (found.length === 0) return;
    this.chain = this.chain.then(async () => {
      for (const d of found) await this.raise(d).catch((err: Error) => this.logger.error({ err: err.message, type: d.type }, 'alert not handled'));
    });
  }

  private async raise(d: Detection): Promise<void> {
    const alert: Alert = {
      id: newId('alr', this.clock.now()),
      ts: d.ts,
      type: d.type,
      severity: d.severity,
      keyId: d.keyId,
      appId: d.appId,
      ip: d.ip,
      detail: d.detail,
      suspended: false,
      acknowledgedAt: null,
      acknowledgedBy: null,
    };
    if (d.keyId !== null && (await this.shouldSuspend(d.keyId, d.type))) {
      alert.suspended = (await this.keys.suspend(d.keyId, alert.id, d.type)) !== null;
      if (alert.suspended) alert.detail = { ...alert.detail, suspended: 'the key was disabled automatically' };
    }
    await this.alerts.insert(alert);
    this.metrics.alerts.inc({ type: d.type });
    this.logger.warn({ alert: alert.id, type: d.type, keyId: d.keyId, ip: d.ip, severity: d.severity, suspended: alert.suspended }, 'alert');
    this.options.webhook?.send(alert.id, { alert: alertView(alert) });
  }

  private async shouldSuspend(keyId: string, type: string): Promise<boolean> {
    if (this.options.autoSuspend.includes(type)) return true;
    const key = await this.keyStore.get(keyId);
    const plan = key ? this.plans.effective(key.planId) : null;
    return plan?.plan.autoSuspend.includes(type) ?? false;
  }

  private async persist(): Promise<void> {
    try {
      await this.alerts.saveDetectorState(this.engine.exportState(), this.clock.now());
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'detector memory not saved; will retry');
    }
  }

  /** Handles the alerts still queued and saves the detectors' memory. */
  async close(): Promise<void> {
    if (this.persistTimer) clearInterval(this.persistTimer);
    await this.chain;
    await this.persist();
  }
}
