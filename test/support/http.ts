import { request } from 'undici';

export interface Answer<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  text: string;
}

/** One HTTP call; the body is parsed as JSON when it is JSON. */
export async function call<T = any>(
  method: string,
  url: string,
  options: { headers?: Record<string, string | string[]>; body?: unknown; rawBody?: string | Buffer } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string | string[]> = { ...(options.headers ?? {}) };
  let body: string | Buffer | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await request(url, { method: method as 'GET', headers, body });
  const text = await res.body.text();
  let parsed: unknown = text;
  const type = String(res.headers['content-type'] ?? '');
  if (type.includes('json') && text) parsed = JSON.parse(text);
  return { status: res.statusCode, headers: res.headers, body: parsed as T, text };
}
