import type { AdminApp, AdminDeps } from '../server.js';
import { adminTokens } from './admin-tokens.js';
import { alerts } from './alerts.js';
import { appsCreate } from './apps.create.js';
import { appsList } from './apps.list.js';
import { appsUpdate } from './apps.update.js';
import { auditList } from './audit.list.js';
import { health } from './health.js';
import { metrics } from './metrics.js';
import { keysCreate } from './keys.create.js';
import { keysList } from './keys.list.js';
import { keysRevoke } from './keys.revoke.js';
import { keysUpdate } from './keys.update.js';
import { keysImport } from './keys.import.js';
import { keysQuota } from './keys.quota.js';
import { keysVerify } from './keys.verify.js';
import { keysRotate } from './keys.rotate.js';
import { plansCreate } from './plans.create.js';
import { plansList } from './plans.list.js';
import { plansUpdate } from './plans.update.js';
import { usage } from './usage.js';

export function registerRoutes(app: AdminApp, deps: AdminDeps): void {
  for (const register of [health, metrics, appsCreate, appsList, appsUpdate, keysCreate, keysList, keysUpdate, keysRevoke, keysRotate, keysImport, keysVerify, keysQuota, plansCreate, plansList, plansUpdate, adminTokens, auditList, usage, alerts]) {
    register(app, deps);
  }
}
