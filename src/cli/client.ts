import { request } from 'undici';

/** A failure to report to the user: printed as one line, exit status 1. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface ClientOptions {
  url: string;
  token: string | undefined;
}

/** A small client of the admin API, used by every CLI command. */
export class AdminClient {
  constructor(private readonly options: ClientOptions) {}

  get<T>(path: string, query?: Record<string, string | number | boolean | undefined>): Promise<T> {
    return this.call<T>('GET', path, undefined, query);
  }

  post<T>(path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    return this.call<T>('POST', path, body, undefined, contentType);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PATCH', path, body);
  }

  async call<T>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
    query?: Record<string, string | number | boolean | undefined>,
    contentType = 'application/json',
  ): Promise<T> {
    if (!this.options.token) {
      throw new CliError('no admin token: set KEYGATE_ADMIN_TOKEN or pass --token (the first `keygate start` prints one)');
    }
    const url = new URL(path, this.options.url);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.token}`, accept: 'application/json' };
    let payload: string | Buffer | NodeJS.ReadableStream | undefined;
    if (body !== undefined) {
      headers['content-type'] = contentType;
      payload = typeof body === 'string' || Buffer.isBuffer(body) || isStream(body) ? (body as string) : JSON.stringify(body);
    }
    let response;
    try {
      response = await request(url, { method, headers, body: payload as string | undefined });
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new CliError(`cannot reach the admin API at ${this.options.url} (${code ?? (err as Error).message}); is keygate running? (KEYGATE_ADMIN_URL)`);
    }
    const text = await response.body.text();
    let data: unknown = undefined;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: reported below if the status is an error
    }
    if (response.statusCode >= 400) {
      const problem = data as { title?: string; detail?: string; code?: string } | undefined;
      const what = problem?.detail ?? problem?.title ?? text.slice(0, 200);
      throw new CliError(`${problem?.code ?? `HTTP ${response.statusCode}`}: ${what}`);
    }
    return data as T;
  }
}

function isStream(value: unknown): boolean {
  return typeof (value as { pipe?: unknown })?.pipe === 'function';
}
