import asciichart from 'asciichart';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { UsagePoint } from '../../monitor/usage.js';
import { CliError } from '../client.js';
import { printList, type Output } from '../output.js';
import { resolveApp } from './apps.js';
import { durationArg, type Context } from './shared.js';

const WIDTH = 100;

/** Averages a long series down to at most `width` points, so the chart fits a terminal. */
function squeeze(values: number[], width: number): number[] {
  if (values.length <= width) return values;
  const out: number[] = [];
  const step = values.length / width;
  for (let i = 0; i < width; i++) {
    const slice = values.slice(Math.floor(i * step), Math.floor((i + 1) * step));
    out.push(slice.reduce((a, b) => a + b, 0) / Math.max(1, slice.length));
  }
  return out;
}

/** A terminal chart of requests and errors (two lines, errors in red when colours are on). */
export function chart(items: UsagePoint[], colour: boolean): string {
  const requests = squeeze(items.map((i) => i.requests), WIDTH);
  const errors = squeeze(items.map((i) => i.errors), WIDTH);
  const max = Math.max(1, ...requests, ...errors);
  const plot = asciichart.plot([requests, errors], {
    height: 10,
    min: 0,
    max,
    colors: colour ? [asciichart.default, asciichart.red] : [undefined, undefined],
    format: (x: number) => x.toFixed(max < 10 ? 1 : 0).padStart(8),
  } as never);
  const legend = colour ? `requests   ${asciichart.red}errors${asciichart.reset}` : 'upper line: requests, lower line: errors';
  return `${plot}\n${' '.repeat(10)}${items[0]?.ts ?? ''} … ${items.at(-1)?.ts ?? ''}   ${legend}\n`;
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * Commander argument parser for `--from`/`--to`: an ISO 8601 date or date-time, as the
 * admin API's RFC 3339 form (a date alone is midnight UTC, a time without zone local time).
 */
function isoArg(text: string): string {
  const value = text.trim();
  const ms = ISO_DATE_TIME.test(value) ? Date.parse(value) : NaN;
  // Date.parse rolls 2026-02-30 over to March 2nd: the date must name a real day.
  const midnight = Date.parse(`${value.slice(0, 10)}T00:00:00Z`);
  const real = !Number.isNaN(ms) && !Number.isNaN(midnight) && new Date(midnight).toISOString().startsWith(value.slice(0, 10));
  if (!real) throw new InvalidArgumentError(`"${text}" is not an ISO 8601 date/time such as 2026-11-27 or 2026-11-27T10:00:00Z`);
  return new Date(ms).toISOString();
}

export function usageCommand(program: Command, ctx: Context, io: Output): void {
  program
    .command('usage')
    .description('usage of a key, an app or a route (or everything): a table and a terminal chart of requests and errors')
    .option('-k, --key <id>', 'a key id')
    .option('-a, --app <idOrName>', 'an app id or name')
    .option('-r, --route <path>', 'a route path of keygate.yaml')
    .option('--from <iso>', 'start (ISO 8601, e.g. 2026-11-27 or 2026-11-27T10:00:00Z); default: one hour, day or 30 days before --to', isoArg)
    .option('--to <iso>', 'end (ISO 8601); default now', isoArg)
    .addOption(new Option('--last <duration>', 'instead of --from: this long before --to (e.g. 15m, 6h, 7d)').argParser(durationArg).conflicts('from'))
    .addOption(new Option('-g, --granularity <g>', 'bucket size').choices(['minute', 'hour', 'day']).default('minute'))
    .option('--no-chart', 'only the table')
    .option('--all-rows', 'print every bucket (default: the last 30 in the table; the chart shows all)')
    .action(async (opts: { key?: string; app?: string; route?: string; from?: string; to?: string; last?: number; granularity: string; chart: boolean; allRows?: boolean }) => {
      if ([opts.key, opts.app, opts.route].filter(Boolean).length > 1) throw new CliError('give one of --key, --app, --route', 2);
      const client = ctx.client();
      const appId = opts.app ? (await resolveApp(client, opts.app)).id : undefined;
      const to = opts.to ?? new Date().toISOString();
      const from = opts.from ?? (opts.last !== undefined ? new Date(Date.parse(to) - opts.last).toISOString() : undefined);
      const series = await client.get<{ items: UsagePoint[]; scope: string; id: string; from: string; to: string }>('/v1/usage', {
        keyId: opts.key,
        appId,
        route: opts.route,
        from,
        to,
        granularity: opts.granularity,
      });
      if (ctx.opts().json) return io.out(JSON.stringify(series, null, 2) + '\n');
      const total = series.items.reduce((a, i) => a + i.requests, 0);
      const errors = series.items.reduce((a, i) => a + i.errors, 0);
      io.out(`${series.scope === 'all' ? 'all traffic' : `${series.scope} ${series.id}`}, ${series.from} to ${series.to}: ${total} requests, ${errors} errors\n`);
      const rows = opts.allRows ? series.items : series.items.slice(-30);
      printList(io, ctx.opts(), { items: rows as unknown as Record<string, unknown>[] }, ['ts', 'requests', 'errors', 'throttled', 'quotaExceeded', 'authRefused', 'p50', 'p95', 'p99']);
      if (opts.chart && series.items.length > 1) io.out('\n' + chart(series.items, Boolean(process.stdout.isTTY)));
    });
}
