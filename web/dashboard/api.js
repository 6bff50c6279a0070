// The admin API, with the token the user signed in with.

import { query } from './dom.js';

export const TOKEN = 'keygate.adminToken';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? problem?.title ?? `the gateway answered ${status}`);
    this.status = status;
    this.code = problem?.code ?? null;
  }
}

/** One admin API call with the signed-in token; problem+json answers become ApiErrors. */
export async function api(method, path, body) {
  const headers = { authorization: `Bearer ${sessionStorage.getItem(TOKEN) ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** Every page of a list, up to `max` items; `more` is set when there were more. */
export async function listAll(path, params = {}, max = 1000) {
  const items = [];
  let cursor;
  do {
    const page = await api('GET', path + query({ ...params, limit: 200, cursor }));
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < max);
  items.more = Boolean(cursor);
  return items;
}
