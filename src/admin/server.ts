import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AppService } from '../apps/service.js';
import type { Clock } from '../clock.js';
import { PublicError, statusOf, type ErrorCode } from '../errors/codes.js';
import { PROBLEM_CONTENT_TYPE, problemBody } from '../errors/problem.js';
import type { KeyImporter } from '../keys/import.js';
import type { KeyService } from '../keys/service.js';
import type { VerificationService } from '../keys/verification.js';
import { StoreUnavailable } from '../keys/verify.js';
import type { Metrics } from '../monitor/metrics.js';
import type { UsageService } from '../monitor/usage.js';
import type { Limiter } from '../plans/limiter.js';
import type { PlanService } from '../plans/service.js';
import type { Logger } from '../log.js';
import { StoreConflict, type Scope, type Stores } from '../store/interface.js';
import type { Auditor } from './audit.js';
import { dashboard } from './dashboard.js';
import { registerRoutes } from './routes/index.js';
import { scopeAllows, type AdminCaller, type AdminTokenService } from './tokens.js';
import { fieldErrors, validatorCompiler } from './validation.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller: AdminCaller | null;
  }
  interface FastifyContextConfig {
    /** Scope a caller needs; routes without one need `admin`. */
    scope?: Scope;
    /** No token needed (health, OpenAPI document). */
    public?: boolean;
  }
}

export interface AdminDeps {
  apps: AppService;
  keys: KeyService;
  importer: KeyImporter;
  verification: VerificationService;
  plans: PlanService;
  limiter: Limiter;
  metrics: Metrics;
  usage: UsageService;
  auditor: Auditor;
  tokens: AdminTokenService;
  stores: Stores;
  clock: Clock;
  logger: Logger;
  metricsPublic: boolean;
  /** Serve the web dashboard at /dashboard/. */
  dashboard: boolean;
}

export type AdminApp = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  Logger,
  TypeBoxTypeProvider
>;

function sendError(reply: FastifyReply, code: ErrorCode, detail?: string, extra?: Record<string, unknown>) {
  return reply
    .status(statusOf(code))
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .header('cache-control', 'no-store')
    .send(problemBody(code, detail, extra));
}

const STATUS_CODES: Record<number, ErrorCode> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer[ \t]+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

/** The admin API: Fastify, JSON, versioned under /v1, every route behind an admin token. */
export async function createAdminServer(deps: AdminDeps): Promise<AdminApp> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'admin' }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as AdminApp;

  app.setValidatorCompiler(validatorCompiler);
  // JSON only (CSV is added by the import route): anything else is 415, not a confusing 400.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('caller', null);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof PublicError) return sendError(reply, error.code, error.message, error.extra);
    if (error instanceof StoreConflict) return sendError(reply, 'conflict', error.what);
    if (error instanceof StoreUnavailable) return sendError(reply, 'store_unavailable', 'the key store is unreachable; retry shortly');
    if (error.validation) {
      const errors = fieldErrors(error.validation as never, error.validationContext);
      const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
      return sendError(reply, 'invalid_request', detail, { errors });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return sendError(reply, STATUS_CODES[status] ?? 'invalid_request', error.message);
    }
    request.log.error({ err: error, url: request.routeOptions.url }, 'admin request failed');
    return sendError(reply, 'internal_error', 'an internal error occurred; see the gateway log');
  });

  app.setNotFoundHandler((request, reply) => sendError(reply, 'not_found', `no such endpoint: ${request.method} ${request.url.split('?')[0]}`));

  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    if (config.public) return;
    const presented = bearer(request);
    if (!presented) throw new PublicError('unauthorized', 'send an admin token: Authorization: Bearer kga_...');
    const caller = await deps.tokens.authenticate(presented);
    if (!caller) throw new PublicError('unauthorized', 'unknown or revoked admin token');
    const needed = config.scope ?? 'admin';
    if (!scopeAllows(caller.scopes, needed)) throw new PublicError('forbidden', `this call needs the "${needed}" scope`);
    request.caller = caller;
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Keygate admin API', version: '1', description: 'Apps, API keys, usage plans, usage, alerts and audit.' },
      components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'admin token kga_...' } } },
      security: [{ adminToken: [] }],
    },
  });

  registerRoutes(app, deps);
  if (deps.dashboard) dashboard(app);

  app.get('/openapi.json', { schema: { hide: true }, config: { public: true } }, async () => app.swagger());
  return app;
}
