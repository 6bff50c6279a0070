import type { Command } from 'commander';
import { printList, type Output } from '../output.js';
import { collectPages, type Context } from './shared.js';

export function auditCommand(program: Command, ctx: Context, io: Output): void {
  program
    .command('audit')
    .description('show the audit log, newest first')
    .option('--target <id>', 'only entries about this id')
    .option('--action <action>', 'only this action, e.g. key.revoke')
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'continue from a previous page')
    .action(async (opts: { target?: string; action?: string; limit: string; cursor?: string }) => {
      const page = await collectPages(ctx.client(), '/v1/audit', { target: opts.target, action: opts.action }, opts);
      printList(io, ctx.opts(), page as never, ['ts', 'actor', 'action', 'target']);
    });
}
