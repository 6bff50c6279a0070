import { InvalidArgumentError, type Command } from 'commander';
import { parseDuration } from '../../duration.js';
import type { PlanView } from '../../plans/service.js';
import { CliError, type AdminClient } from '../client.js';
import { printList, printObject, type Output } from '../output.js';
import { collectPages, type Context } from './shared.js';

const COLUMNS = ['id', 'name', 'rate', 'burst', 'quota', 'timezone', 'overrides'];

function positiveNumber(text: string): number {
  const n = Number(text);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`"${text}" is not a positive number`);
  return n;
}

function integer(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${text}" is not a positive integer`);
  return n;
}

/** `1000/day`, `50000/month` → {limit, period}. */
function quotaArg(text: string): { limit: number; period: string } {
  const m = /^(\d+)\/(day|week|month)$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`"${text}" is not a quota such as 1000/day, 5000/week or 100000/month`);
  return { limit: Number(m[1]), period: m[2]! };
}

/** `/search:GET:5:10` (route:method:rate:burst; method may be `*`), repeatable. */
function overrideArg(text: string, previous: unknown[] = []): unknown[] {
  const m = /^(\/[^:]*):([A-Za-z]+|\*):([\d.]+):(\d+)$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`"${text}" is not an override such as /search:GET:5:10 (route:method:rate:burst, method may be *)`);
  return [...previous, { route: m[1], ...(m[2] === '*' ? {} : { method: m[2] }), rate: Number(m[3]), burst: Number(m[4]) }];
}

function describeQuota(p: PlanView): string {
  if (!p.quota) return '-';
  return `${p.quota.limit}/${p.quota.period}${p.quota.offset ? ` from +${p.quota.offset}` : ''}`;
}

interface Quota {
  limit: number;
  period: string;
}

interface PlanOptions {
  name?: string;
  rate?: number;
  burst?: number;
  /** false: `--no-quota` (update only). */
  quota?: Quota | false;
  quotaOffset?: string;
  timezone?: string;
  override?: unknown[];
  autoSuspend?: string;
}

const OFFSET_EXAMPLE = '(e.g. --quota 1000/day --quota-offset 6h)';

/** The quota as the admin API takes it; an offset of zero (`0`, `0h`) means none. */
function quotaBody(quota: Quota, offset: string | null | undefined): Record<string, unknown> {
  return { limit: quota.limit, period: quota.period, ...(offset && parseDuration(offset) !== 0 ? { offset } : {}) };
}

/**
 * The quota to send with `plans update`: undefined to leave it alone, null to remove it.
 * PATCH replaces the whole quota object, so what the user did not give (the offset, or the
 * limit and period) is carried over from the plan as it is now.
 */
async function quotaUpdate(client: AdminClient, id: string, opts: PlanOptions): Promise<Record<string, unknown> | null | undefined> {
  if (opts.quota === false) {
    if (opts.quotaOffset !== undefined) throw new CliError('--quota-offset cannot be used with --no-quota', 2);
    return null;
  }
  if (opts.quota === undefined && opts.quotaOffset === undefined) return undefined;
  if (opts.quota && opts.quotaOffset !== undefined) return quotaBody(opts.quota, opts.quotaOffset);
  const current = (await client.get<PlanView>(`/v1/plans/${encodeURIComponent(id)}`)).quota;
  if (opts.quota) return quotaBody(opts.quota, current?.offset);
  if (!current) throw new CliError(`plan ${id} has no quota: give --quota too ${OFFSET_EXAMPLE}`);
  return quotaBody(current, opts.quotaOffset);
}

/** The request body of everything but the quota. */
function body(opts: PlanOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (opts.name !== undefined) out.name = opts.name;
  if (opts.rate !== undefined) out.rate = opts.rate;
  if (opts.burst !== undefined) out.burst = opts.burst;
  if (opts.timezone !== undefined) out.timezone = opts.timezone;
  if (opts.override !== undefined) out.overrides = opts.override;
  if (opts.autoSuspend !== undefined) out.autoSuspend = opts.autoSuspend.split(',').map((t) => t.trim()).filter(Boolean);
  return out;
}

function withPlanOptions(command: Command): Command {
  return command
    .option('--rate <n>', 'requests per second (token refill rate)', positiveNumber)
    .option('--burst <n>', 'bucket size (requests allowed at once)', integer)
    .option('--quota <limit/period>', 'quota, e.g. 1000/day, 5000/week, 100000/month', quotaArg)
    .option('--quota-offset <duration>', 'shift the quota window start, e.g. 6h (days from 06:00) or 14d (months from the 15th); 0 for none')
    .option('--timezone <zone>', 'IANA time zone of the quota windows (default UTC)')
    .option('--override <route:method:rate:burst>', 'per-route throttle, repeatable (method may be *)', overrideArg)
    .option('--auto-suspend <types>', 'alert types that disable a key of this plan, e.g. key_sharing,new_location ("" for none)');
}

export function plansCommand(program: Command, ctx: Context, io: Output): void {
  const plans = program.command('plans').description('usage plans: throttle (rate + burst), quota, per-route overrides');
  withPlanOptions(plans.command('create <name>').description('create a usage plan')).action(async (name: string, opts: PlanOptions) => {
    if (opts.rate === undefined || opts.burst === undefined) throw new CliError('--rate and --burst are required', 2);
    if (opts.quotaOffset !== undefined && !opts.quota) throw new CliError(`--quota-offset needs --quota ${OFFSET_EXAMPLE}`, 2);
    const quota = opts.quota ? { quota: quotaBody(opts.quota, opts.quotaOffset) } : {};
    printObject(io, ctx.opts(), (await ctx.client().post<Record<string, unknown>>('/v1/plans', { ...body({ ...opts, name }), ...quota })) as Record<string, unknown>);
  });
  plans
    .command('list')
    .description('list usage plans')
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--all', 'fetch every page')
    .action(async (opts: { limit: string; cursor?: string; all?: boolean }) => {
      const page = await collectPages<PlanView>(ctx.client(), '/v1/plans', {}, opts);
      if (ctx.opts().json) return printList(io, ctx.opts(), page as never, COLUMNS);
      const rows = page.items.map((p) => ({ ...p, quota: describeQuota(p), overrides: p.overrides.length ? p.overrides.map((o) => `${o.route} ${o.method ?? '*'} ${o.rate}/s x${o.burst}`).join('; ') : '-' }));
      printList(io, ctx.opts(), { items: rows, nextCursor: page.nextCursor }, COLUMNS);
    });
  withPlanOptions(
    plans
      .command('update <id>')
      .description('change a usage plan (every node applies it within a second); only the options given change')
      .option('--name <name>', 'new name'),
  )
    // After --quota: declared first, --no-quota would make commander default quota to true.
    .option('--no-quota', 'remove the quota')
    .addHelpText(
      'after',
      '\nQuota: --quota N/period keeps the plan\'s current offset unless --quota-offset is given;\n' +
        '--quota-offset alone changes only the offset of the current quota (0 removes it).\n',
    )
    .action(async (id: string, opts: PlanOptions) => {
      const client = ctx.client();
      const changes = body(opts);
      const quota = await quotaUpdate(client, id, opts);
      if (quota !== undefined) changes.quota = quota;
      if (Object.keys(changes).length === 0) throw new CliError('nothing to change: give at least one option', 2);
      printObject(io, ctx.opts(), await client.patch(`/v1/plans/${encodeURIComponent(id)}`, changes));
    });
  plans
    .command('delete <id>')
    .description('delete a plan no key uses')
    .action(async (id: string) => {
      await ctx.client().call('DELETE', `/v1/plans/${encodeURIComponent(id)}`);
      if (ctx.opts().json) io.out(JSON.stringify({ deleted: id }) + '\n');
      else io.out(`deleted ${id}\n`);
    });
}
