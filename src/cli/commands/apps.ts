import type { Command } from 'commander';
import type { AppView } from '../../apps/service.js';
import { CliError, type AdminClient } from '../client.js';
import { printList, printObject, type Output } from '../output.js';
import { collectPages, parseJsonOption, type Context } from './shared.js';

const COLUMNS = ['id', 'name', 'description', 'createdAt'];

/** Resolves an app given by id or exact name. */
export async function resolveApp(client: AdminClient, idOrName: string): Promise<AppView> {
  const byName = await client.get<{ items: AppView[] }>('/v1/apps', { name: idOrName });
  if (byName.items[0]) return byName.items[0];
  try {
    return await client.get<AppView>(`/v1/apps/${encodeURIComponent(idOrName)}`);
  } catch (err) {
    if (err instanceof CliError && err.message.startsWith('not_found')) throw new CliError(`no app with id or name "${idOrName}"`);
    throw err;
  }
}

export function appsCommand(program: Command, ctx: Context, io: Output): void {
  const apps = program.command('apps').description('applications: each holds its own keys');
  apps
    .command('create <name>')
    .description('create an application')
    .option('-d, --description <text>', 'description')
    .option('--metadata <json>', 'metadata as a JSON object')
    .action(async (name: string, opts: { description?: string; metadata?: string }) => {
      const app = await ctx.client().post<AppView>('/v1/apps', {
        name,
        ...(opts.description ? { description: opts.description } : {}),
        ...(opts.metadata ? { metadata: parseJsonOption('--metadata', opts.metadata) } : {}),
      });
      printObject(io, ctx.opts(), app as unknown as Record<string, unknown>);
    });
  apps
    .command('list')
    .description('list applications')
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--all', 'fetch every page')
    .action(async (opts: { limit: string; cursor?: string; all?: boolean }) => {
      const page = await collectPages<AppView>(ctx.client(), '/v1/apps', {}, opts);
      printList(io, ctx.opts(), page as never, COLUMNS);
    });
  apps
    .command('show <idOrName>')
    .description('show an application')
    .action(async (idOrName: string) => {
      printObject(io, ctx.opts(), (await resolveApp(ctx.client(), idOrName)) as unknown as Record<string, unknown>);
    });
}
