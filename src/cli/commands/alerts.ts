import { Option, type Command } from 'commander';
import type { AlertView } from '../../monitor/detect/service.js';
import { printList, printObject, type Output } from '../output.js';
import { collectPages, type Context } from './shared.js';

const TYPES = ['usage_spike', 'new_location', 'unusual_time', 'error_burst', 'key_sharing', 'invalid_key_flood'];

export function alertsCommand(program: Command, ctx: Context, io: Output): void {
  const alerts = program.command('alerts').description('alerts of the abuse detectors');
  alerts
    .command('list')
    .description('list alerts, newest first')
    .option('-k, --key <id>', 'only alerts about this key')
    .option('-a, --app <id>', 'only alerts about keys of this app')
    .addOption(new Option('-t, --type <type>', 'only this type').choices(TYPES))
    .addOption(new Option('-s, --status <status>', 'open or acknowledged').choices(['open', 'acknowledged']))
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--all', 'fetch every page')
    .action(async (opts: { key?: string; app?: string; type?: string; status?: string; limit: string; cursor?: string; all?: boolean }) => {
      const page = await collectPages<AlertView>(ctx.client(), '/v1/alerts', { keyId: opts.key, appId: opts.app, type: opts.type, status: opts.status }, opts);
      if (ctx.opts().json) return printList(io, ctx.opts(), page as never, []);
      const rows = page.items.map((a) => ({ ...a, subject: a.keyId ?? a.ip, acknowledged: a.acknowledgedAt ? 'yes' : 'no' }));
      printList(io, ctx.opts(), { items: rows, nextCursor: page.nextCursor }, ['id', 'ts', 'type', 'severity', 'subject', 'suspended', 'acknowledged', 'detail']);
    });
  alerts
    .command('show <id>')
    .description('show an alert')
    .action(async (id: string) => printObject(io, ctx.opts(), await ctx.client().get(`/v1/alerts/${encodeURIComponent(id)}`)));
  alerts
    .command('ack <id>')
    .description('acknowledge an alert')
    .action(async (id: string) => printObject(io, ctx.opts(), await ctx.client().post(`/v1/alerts/${encodeURIComponent(id)}/ack`)));
}
