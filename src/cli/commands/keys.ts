import { InvalidArgumentError, Option, type Command } from 'commander';
import type { IssuedKey, KeyView } from '../../keys/service.js';
import { CliError, type AdminClient } from '../client.js';
import { printList, printObject, type Output } from '../output.js';
import { resolveApp } from './apps.js';
import { importFile } from './import.js';
import { collectPages, durationArg, parseJsonOption, type Context } from './shared.js';

const COLUMNS = ['id', 'appId', 'name', 'hint', 'status', 'planId', 'expiresAt', 'createdAt'];
const ONCE = 'This is the only time the key is shown: store it now.';

interface KeyOptions {
  name?: string;
  plan?: string;
  metadata?: string;
  expiresIn?: number;
  expiresAt?: string;
  expiry?: boolean;
}

function expiry(opts: KeyOptions): string | null | undefined {
  if (opts.expiresIn !== undefined) return new Date(Date.now() + opts.expiresIn).toISOString();
  if (opts.expiresAt !== undefined) return opts.expiresAt;
  if (opts.expiry === false) return null;
  return undefined;
}

function printIssued(io: Output, ctx: Context, issued: IssuedKey): void {
  if (ctx.opts().json) return io.out(JSON.stringify(issued, null, 2) + '\n');
  const { key, ...rest } = issued;
  printObject(io, ctx.opts(), rest as unknown as Record<string, unknown>);
  io.out(`\nkey: ${key}\n${ONCE}\n`);
}

function withExpiryOptions(command: Command): Command {
  return command
    .addOption(new Option('--expires-in <duration>', 'expire after this long (e.g. 30d, 24h)').argParser(durationArg).conflicts('expiresAt'))
    .option('--expires-at <iso>', 'expire at this time (ISO 8601)');
}

export function keysCommand(program: Command, ctx: Context, io: Output): void {
  const keys = program.command('keys').description('API keys: create, list, show, update, disable, enable, revoke');

  withExpiryOptions(
    keys
      .command('create')
      .description('create a key for an application; prints its plaintext once')
      .requiredOption('-a, --app <idOrName>', 'application id or name')
      .option('-n, --name <name>', 'key name')
      .option('-p, --plan <planId>', 'usage plan id')
      .option('--metadata <json>', 'metadata as a JSON object')
      .addOption(new Option('--env <environment>', 'key environment').choices(['live', 'test']))
      .option('--key <value>', 'import this value instead of generating one'),
  ).action(async (opts: KeyOptions & { app: string; env?: string; key?: string }) => {
    const client = ctx.client();
    const app = await resolveApp(client, opts.app);
    const issued = await client.post<IssuedKey>('/v1/keys', {
      appId: app.id,
      ...(opts.name ? { name: opts.name } : {}),
      ...(opts.plan ? { planId: opts.plan } : {}),
      ...(opts.metadata ? { metadata: parseJsonOption('--metadata', opts.metadata) } : {}),
      ...(opts.env ? { environment: opts.env } : {}),
      ...(opts.key ? { key: opts.key } : {}),
      ...(expiry(opts) ? { expiresAt: expiry(opts) } : {}),
    });
    printIssued(io, ctx, issued);
  });

  keys
    .command('list')
    .description('list keys (never their plaintext)')
    .option('-a, --app <idOrName>', 'only keys of this application')
    .addOption(new Option('-s, --status <status>', 'only keys with this status').choices(['active', 'disabled', 'expired', 'revoked']))
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--all', 'fetch every page')
    .action(async (opts: { app?: string; status?: string; limit: string; cursor?: string; all?: boolean }) => {
      const client = ctx.client();
      const appId = opts.app ? (await resolveApp(client, opts.app)).id : undefined;
      const page = await collectPages<KeyView>(client, '/v1/keys', { appId, status: opts.status }, opts);
      printList(io, ctx.opts(), page as never, COLUMNS);
    });

  keys
    .command('show <id>')
    .description('show a key')
    .action(async (id: string) => printObject(io, ctx.opts(), await ctx.client().get(`/v1/keys/${encodeURIComponent(id)}`)));

  withExpiryOptions(
    keys
      .command('update <id>')
      .description('change a key: name, plan, metadata, expiry')
      .option('-n, --name <name>', 'new name')
      .option('-p, --plan <planId>', 'usage plan id ("none" to remove)')
      .option('--metadata <json>', 'metadata as a JSON object')
      .option('--no-expiry', 'remove the expiry'),
  ).action(async (id: string, opts: KeyOptions) => {
    const body: Record<string, unknown> = {};
    if (opts.name !== undefined) body.name = opts.name;
    if (opts.plan !== undefined) body.planId = opts.plan === 'none' ? null : opts.plan;
    if (opts.metadata !== undefined) body.metadata = parseJsonOption('--metadata', opts.metadata);
    const expiresAt = expiry(opts);
    if (expiresAt !== undefined) body.expiresAt = expiresAt;
    printObject(io, ctx.opts(), await ctx.client().patch(`/v1/keys/${encodeURIComponent(id)}`, body));
  });

  keys
    .command('rotate <id>')
    .description('issue a new key for the same app, plan and metadata; the old one works until --grace ends')
    .requiredOption('-g, --grace <duration>', 'how long the old key keeps working (e.g. 24h, 0 ends it at once)', durationArg)
    .action(async (id: string, opts: { grace: number }) => {
      const issued = await ctx.client().post<IssuedKey & { previous: { id: string; expiresAt: string } }>(`/v1/keys/${encodeURIComponent(id)}/rotate`, {
        graceSeconds: Math.round(opts.grace / 1000),
      });
      printIssued(io, ctx, issued);
      if (!ctx.opts().json) io.out(`previous key ${issued.previous.id} stops working at ${issued.previous.expiresAt}\n`);
    });

  keys
    .command('import <file>')
    .description('import existing key values from a CSV (AWS format: name,key,description,enabled,usageplanIds[,app]) or JSON ({"items": [...]}) file')
    .option('-a, --app <idOrName>', 'application for rows without an app column')
    .addOption(new Option('--format <format>', 'file format (default: from the extension)').choices(['csv', 'json']))
    .action(async (file: string, opts: { app?: string; format?: string }) => {
      const client = ctx.client();
      const appId = opts.app ? (await resolveApp(client, opts.app)).id : undefined;
      const result = await importFile(client, file, opts.format, appId, io);
      if (ctx.opts().json) return io.out(JSON.stringify(result, null, 2) + '\n');
      io.out(`imported ${result.imported} key(s), ${result.failed.length} failed\n`);
      if (result.failed.length) printList(io, ctx.opts(), { items: result.failed as unknown as Record<string, unknown>[] }, ['line', 'code', 'detail']);
    });

  keys
    .command('quota <id>')
    .description("show a key's quota in the current window; --reset or --add N (negative N grants calls)")
    .option('--reset', 'set the usage of the current window to 0')
    .option('--add <n>', 'add N to the usage (negative: grant N more calls)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n)) throw new InvalidArgumentError(`"${v}" is not an integer`);
      return n;
    })
    .action(async (id: string, opts: { reset?: boolean; add?: number }) => {
      const client = ctx.client();
      const path = `/v1/keys/${encodeURIComponent(id)}/quota`;
      if (opts.reset && opts.add !== undefined) throw new CliError('give --reset or --add, not both', 2);
      const state = opts.reset ? await client.post(path, { reset: true }) : opts.add !== undefined ? await client.post(path, { add: opts.add }) : await client.get(path);
      printObject(io, ctx.opts(), state as Record<string, unknown>);
    });

  const simple = (name: string, description: string, call: (client: AdminClient, id: string) => Promise<unknown>) =>
    keys
      .command(`${name} <id>`)
      .description(description)
      .action(async (id: string) => printObject(io, ctx.opts(), (await call(ctx.client(), encodeURIComponent(id))) as Record<string, unknown>));
  simple('disable', 'disable a key (it can be enabled again)', (c, id) => c.post(`/v1/keys/${id}/disable`));
  simple('enable', 'enable a disabled key', (c, id) => c.post(`/v1/keys/${id}/enable`));
  simple('revoke', 'revoke a key for good; it stops working everywhere within a second', (c, id) => c.post(`/v1/keys/${id}/revoke`));
}
