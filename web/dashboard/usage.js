// The Usage view: totals and a bar chart of requests and errors.

import { api } from './api.js';
import { choices, h, query, when, withParam } from './dom.js';

/** Each range as a number of buckets of a granularity, the last one being the current bucket. */
const RANGES = { '1h': [60, 'minute'], '24h': [24, 'hour'], '7d': [7 * 24, 'hour'], '30d': [30, 'day'] };
const SPAN = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
/** Day buckets are UTC days (as the usage API aggregates them); shorter ones are shown in local time. */
const bucketLabel = (granularity) => (granularity === 'day' ? (iso) => `${iso.slice(0, 10)} UTC` : when);

/** Requests (and, over them, errors) per bucket as an SVG bar chart. */
function chart(items, label) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  const W = 1000, H = 220, left = 48, bottom = 20, top = 10;
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  const max = Math.max(1, ...items.map((p) => p.requests));
  const width = (W - left) / Math.max(1, items.length);
  const y = (v) => H - bottom - (v / max) * (H - bottom - top);
  const add = (tag, attrs, text) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    svg.append(el);
    return el;
  };
  items.forEach((p, i) => {
    const x = left + i * width;
    const title = `${label(p.ts)}: ${p.requests} requests, ${p.errors} errors${p.p99 === null ? '' : `, p99 ${p.p99} ms`}`;
    if (p.requests > 0) add('rect', { class: 'requests', x, y: y(p.requests), width: Math.max(1, width - 1), height: y(0) - y(p.requests) }).append(Object.assign(document.createElementNS(ns, 'title'), { textContent: title }));
    if (p.errors > 0) add('rect', { class: 'errors', x, y: y(p.errors), width: Math.max(1, width - 1), height: y(0) - y(p.errors) });
  });
  add('text', { x: 0, y: top + 10 }, max.toLocaleString());
  add('text', { x: 0, y: H - bottom }, '0');
  if (items.length) {
    add('text', { x: left, y: H - 4 }, label(items[0].ts));
    add('text', { x: W, y: H - 4, 'text-anchor': 'end' }, label(items[items.length - 1].ts));
  }
  return svg;
}

export async function usageView(params) {
  const range = RANGES[params.get('range')] ? params.get('range') : '1h';
  const [buckets, granularity] = RANGES[range];
  const span = SPAN[granularity];
  const scope = params.get('keyId') ? { keyId: params.get('keyId') } : params.get('appId') ? { appId: params.get('appId') } : params.get('route') ? { route: params.get('route') } : {};
  // Whole buckets, so the totals cover exactly the range the button names.
  const to = (Math.floor(Date.now() / span) + 1) * span;
  const from = to - buckets * span;
  const series = await api('GET', `/v1/usage${query({ ...scope, granularity, from: new Date(from).toISOString(), to: new Date(to).toISOString() })}`);
  const sum = (name) => series.items.reduce((n, p) => n + p[name], 0);
  const p99 = Math.max(...series.items.map((p) => p.p99 ?? 0));
  const what = scope.keyId ? `key ${scope.keyId}` : scope.appId ? `app ${scope.appId}` : scope.route ? `route ${scope.route}` : 'all traffic';
  const stat = (label, value, id) => h('div', { id }, h('b', {}, value.toLocaleString()), label);
  return [
    h('h2', {}, `Usage of ${what}`),
    choices(Object.keys(RANGES), range, (r) => (location.hash = `#/usage?${withParam(params, 'range', r)}`), (r) => `last ${r}`),
    scope.keyId || scope.appId || scope.route ? h('a', { href: '#/usage' }, 'show all traffic') : null,
    h('div', { class: 'summary' },
      stat('requests', sum('requests'), 'total-requests'),
      stat('admitted', sum('admitted'), 'total-admitted'),
      stat('errors (4xx/5xx)', sum('errors'), 'total-errors'),
      stat('throttled', sum('throttled'), 'total-throttled'),
      stat('over quota', sum('quotaExceeded'), 'total-quota'),
      stat('key refused', sum('authRefused'), 'total-auth'),
      stat('worst p99 (ms)', p99, 'worst-p99'),
    ),
    h('div', { class: 'chart' }, chart(series.items, bucketLabel(granularity)), h('div', { class: 'legend' }, `per ${granularity}:`, h('span', { class: 'l-requests' }, 'requests'), h('span', { class: 'l-errors' }, 'errors'))),
  ];
}
