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
  /** Request headers that carry credentials on this route: never forwarded. */
  readonly credentialHeaders: readonly string[];
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
    credentialHeaders: [
      ...(config.keySources.includes('header') ? ['x-api-key'] : []),
      ...(config.keySources.includes('bearer') ? ['authorization'] : []),
    ],
    plans: config.plans.includes('*') ? null : new Set(config.plans),
  };
}

/** Prefix routing on whole path segments: the longest matching prefix wins. */
export class RouteTable {
  private readonly routes: Route[];
  /** Whether any route names a host: without one, a request's Host is never looked at. */
  private readonly byHost: boolean;

  constructor(routes: Route[]) {
    this.routes = [...routes].sort((a, b) => b.prefix.length - a.prefix.length);
    this.byHost = routes.some((r) => r.host !== null);
  }

  /** The route for this request, or null. Allocates nothing when no route names a host. */
  match(host: string | undefined, method: string, path: string): Route | null {
    const hostname = host === undefined || !this.byHost ? '' : hostOnly(host);
    for (const route of this.routes) {
      if (!prefixMatches(route.prefix, path)) continue;
      if (route.host !== null && route.host !== hostname) continue;
      if (route.methods !== null && !route.methods.has(method)) continue;
      return route;
    }
    return null;
  }

  /** After a failed match: true if some route has this path and host but not this method (405, not 404). */
  methodMismatch(host: string | undefined, path: string): boolean {
    const hostname = host === undefined || !this.byHost ? '' : hostOnly(host);
    return this.routes.some((r) => prefixMatches(r.prefix, path) && (r.host === null || r.host === hostname));
  }

  get all(): readonly Route[] {
    return this.routes;
  }
}

function prefixMatches(prefix: string, path: string): boolean {
  return prefix === '' || (path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47));
}

function hostOnly(host: string): string {
  const colon = host.lastIndexOf(':');
  // Keep IPv6 literals ([::1]:80 → [::1]) intact.
  const name = colon > host.lastIndexOf(']') ? host.slice(0, colon) : host;
  return name.toLowerCase();
}
