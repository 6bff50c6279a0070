import type { Command } from 'commander';
import { printList, printObject, type Output } from '../output.js';
import { collectPages, type Context } from './shared.js';

export function tokensCommand(program: Command, ctx: Context, io: Output): void {
  const tokens = program.command('tokens').description('admin tokens (needs the admin scope)');
  tokens
    .command('create')
    .description('create an admin token; prints its plaintext once')
    .requiredOption('-n, --name <name>', 'token name')
    .option('-s, --scopes <scopes>', 'comma-separated: read, write, admin', 'read')
    .action(async (opts: { name: string; scopes: string }) => {
      const created = await ctx.client().post<Record<string, unknown>>('/v1/admin-tokens', {
        name: opts.name,
        scopes: opts.scopes.split(',').map((s) => s.trim()).filter(Boolean),
      });
      if (ctx.opts().json) return io.out(JSON.stringify(created, null, 2) + '\n');
      const { token, ...rest } = created;
      printObject(io, ctx.opts(), rest);
      io.out(`\ntoken: ${String(token)}\nThis is the only time the token is shown: store it now.\n`);
    });
  tokens
    .command('list')
    .description('list admin tokens')
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--all', 'fetch every page')
    .action(async (opts: { limit: string; cursor?: string; all?: boolean }) => {
      printList(io, ctx.opts(), (await collectPages(ctx.client(), '/v1/admin-tokens', {}, opts)) as never, ['id', 'name', 'hint', 'scopes', 'createdAt', 'revokedAt']);
    });
  tokens
    .command('revoke <id>')
    .description('revoke an admin token')
    .action(async (id: string) => printObject(io, ctx.opts(), await ctx.client().post(`/v1/admin-tokens/${encodeURIComponent(id)}/revoke`)));
}
