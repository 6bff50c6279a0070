import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { parseDocument } from 'yaml';
import { parseDuration } from '../duration.js';
import { ConfigSchema, type Config, type FileConfig } from './schema.js';

/** A configuration problem, said in terms of the file and field a user can fix. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${file}: ${field ? field + ': ' : ''}${problem}`);
    this.name = 'ConfigError';
  }
}

const validator = TypeCompiler.Compile(ConfigSchema);

export interface LoadOptions {
  /** Explicit config path (`--config`); otherwise KEYGATE_CONFIG, then ./keygate.yaml if present. */
  path?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

function fieldOf(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : (i ? '.' : '') + p))
    .join('');
}

function readFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? 'error'})`;
    throw new ConfigError(file, '', why);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const where = e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
    throw new ConfigError(file, where, `invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const value = doc.toJS() ?? {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(file, '', 'must be a YAML mapping');
  return value;
}

function validate(file: string, raw: unknown): FileConfig {
  const input = structuredClone(raw) as Record<string, unknown>;
  // `redis` may be written as a bare URL.
  if (typeof input.redis === 'string') input.redis = { url: input.redis };
  const withDefaults = Value.Default(ConfigSchema, input);
  if (validator.Check(withDefaults)) return withDefaults as FileConfig;
  const errors = [...validator.Errors(withDefaults)];
  const unknown = errors.find((e) => e.message === 'Unexpected property');
  if (unknown) throw new ConfigError(file, fieldOf(unknown.path), 'unknown field');
  // The deepest error names the field a user must change.
  const first = errors.sort((a, b) => b.path.length - a.path.length)[0]!;
  throw new ConfigError(file, fieldOf(first.path), plainMessage(first.message));
}

/** "Expected integer to be less or equal to 65535" → "must be less or equal to 65535". */
function plainMessage(message: string): string {
  const constrained = /^Expected \w+ to (.*)$/.exec(message);
  if (constrained) return `must ${constrained[1]}`;
  const typed = /^Expected (\w+)$/.exec(message);
  if (typed) return `must be ${/^[aeiou]/.test(typed[1]!) ? 'an' : 'a'} ${typed[1]}`;
  return message;
}

function checkRoutes(file: string, config: FileConfig): void {
  const seen = new Set<string>();
  config.routes.forEach((route, i) => {
    const field = `routes[${i}]`;
    if (route.upstream !== 'builtin:echo') {
      let url: URL;
      try {
        url = new URL(route.upstream);
      } catch {
        throw new ConfigError(file, `${field}.upstream`, 'must be an http(s) URL such as http://127.0.0.1:3000/base, or builtin:echo');
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new ConfigError(file, `${field}.upstream`, `unsupported protocol ${url.protocol} (use http or https)`);
      }
      if (url.search || url.hash) throw new ConfigError(file, `${field}.upstream`, 'must not carry a query or fragment');
    }
    if (route.path.length > 1 && route.path.endsWith('/')) {
      throw new ConfigError(file, `${field}.path`, 'must not end with "/" (prefixes match whole path segments)');
    }
    const id = `${route.host ?? '*'} ${route.path} ${(route.methods ?? ['*']).join(',')}`;
    if (seen.has(id)) throw new ConfigError(file, `${field}.path`, `duplicate route ${route.path}`);
    seen.add(id);
  });
}

function envPort(file: string, env: NodeJS.ProcessEnv, name: string): number | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(file, name, `must be a port number (0-65535), got "${value}"`);
  return n;
}

/**
 * Loads keygate.yaml (or the built-in defaults when there is none), applies the environment
 * overrides of PRODUCT.md §6 and validates the result. Throws ConfigError naming file and field.
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.path ?? (env.KEYGATE_CONFIG || undefined);
  const path = explicit ? resolve(cwd, explicit) : existsSync(resolve(cwd, 'keygate.yaml')) ? resolve(cwd, 'keygate.yaml') : undefined;
  const file = path ?? '(built-in defaults)';
  const raw = path ? readFile(path) : {};
  return resolveConfig(raw, { file, env, cwd });
}

/** Validates an already-parsed configuration object, as loadConfig does for a file. */
export function resolveConfig(raw: unknown, options: { file?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Config {
  const file = options.file ?? '(config)';
  const env = options.env ?? {};
  const cwd = options.cwd ?? process.cwd();
  const parsed = validate(file, raw);
  checkRoutes(file, parsed);

  const proxyPort = envPort(file, env, 'KEYGATE_PROXY_PORT');
  const adminPort = envPort(file, env, 'KEYGATE_ADMIN_PORT');
  if (proxyPort !== undefined) parsed.proxy.port = proxyPort;
  if (adminPort !== undefined) parsed.admin.port = adminPort;
  if (env.KEYGATE_DATA_DIR) parsed.dataDir = env.KEYGATE_DATA_DIR;
  const dataDir = resolve(cwd, parsed.dataDir);

  if (env.KEYGATE_WEBHOOK_SECRET) parsed.monitoring.webhookSecret = env.KEYGATE_WEBHOOK_SECRET;
  const adminToken = env.KEYGATE_ADMIN_TOKEN || undefined;
  if (adminToken !== undefined && (adminToken.length < 20 || adminToken.length > 512 || !/^[\x21-\x7e]+$/.test(adminToken))) {
    throw new ConfigError(file, 'KEYGATE_ADMIN_TOKEN', 'must be 20 to 512 printable ASCII characters without spaces');
  }

  for (const [granularity, text] of Object.entries(parsed.monitoring.retention)) {
    const ms = parseDuration(text);
    if (ms === null || ms <= 0) throw new ConfigError(file, `monitoring.retention.${granularity}`, `"${text}" is not a duration such as 2d or 90d`);
  }
  const { sqlite, postgres } = parsed.storage;
  if (sqlite && postgres) throw new ConfigError(file, 'storage', 'name either sqlite or postgres, not both');
  const storage: Config['storage'] = postgres
    ? { kind: 'postgres', url: postgres }
    : { kind: 'sqlite', path: sqlite ? resolve(cwd, sqlite) : resolve(dataDir, 'keygate.db') };

  const { storage: _s, redis, ...rest } = parsed;
  return { ...rest, dataDir, storage, ...(redis ? { redis } : {}), ...(adminToken ? { adminToken } : {}), source: file };
}
