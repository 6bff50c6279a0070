import type { RouteConfig } from '../config/schema.js';

export type KeySource = { kind: 'header' } | { kind: 'bearer' } | { kind: 'query'; name: string };

/** A route of keygate.yaml, prepared for matching. */
export interface Route {
  readonly config: RouteConfig;
  /** Path prefix without a trailing slash ('' for the root route `/`). */
  readonly prefix: string;
  readonly methods: ReadonlySet<string> | null;
  readonly host: string | null;
  /** Upstream origin and base path; `builtin:echo` is resolved to the echo server's origin. */
  readonly origin: string;
  readonly basePath: string;
  readonly keySources: readonly KeySource[];
  /** Plan names allowed here, or null for any ("*"). */
  readonly plans: ReadonlySet<string> | null;
}

export function parseKeySource(text: string): KeySource {
  if (text === 'header') return { kind: 'header' };
  if (text === 'bearer') return { kind: 'bearer' };
  return { kind: 'query', name: text.slice('query:'.length) };
}

export function prepareRoute(config: RouteConfig, echoOrigin: string | null): Route {
  let origin: string;
  let basePath: string;
  if (config.upstream === 'builtin:echo') {
    if (!echoOrigin) throw new Error('builtin:echo used but the echo upstream is not running');
    origin = echoOrigin;
    basePath = '';
  } else {
    const url = new URL(config.upstream);
    origin = url.origin;
    basePath = url.pathname.replace(/\/+$/, '');
  }
  return {
    config,
    prefix: config.path === '/' ? '' : config.path,
    methods: config.methods ? new Set(config.methods.map((m) => m.toUpperCase())) : null,
    host: config.host?.toLowerCase() ?? null,
    origin,
    basePath,
    keySources: config.keySources.map(parseKeySource),
    plans: config.plans.includes('*') ? null : new Set(config.plans),
  };
}

export type RouteMatch = { route: Route } | { route: null; methodMismatch: boolean };

/** Prefix routing on whole path segments: the longest matching prefix wins. */
export class RouteTable {
  private readonly routes: Route[];

  constructor(routes: Route[]) {
    this.routes = [...routes].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  match(host: string | undefined, method: string, path: string): RouteMatch {
    let methodMismatch = false;
    const hostname = host ? host.replace(/:\d+$/, '').toLowerCase() : '';
    for (const route of this.routes) {
      const p = route.prefix;
      if (p !== '' && !(path.startsWith(p) && (path.length === p.length || path.charCodeAt(p.length) === 47))) continue;
      if (route.host !== null && route.host !== hostname) continue;
      if (route.methods !== null && !route.methods.has(method)) {
        methodMismatch = true;
        continue;
      }
      return { route };
    }
    return { route: null, methodMismatch };
  }

  get all(): readonly Route[] {
    return this.routes;
  }
}
