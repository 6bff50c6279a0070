import { Command, CommanderError } from 'commander';
import { AdminClient, CliError } from './client.js';
import { alertsCommand } from './commands/alerts.js';
import { appsCommand } from './commands/apps.js';
import { auditCommand } from './commands/audit.js';
import { keysCommand } from './commands/keys.js';
import { monitorCommand } from './commands/monitor.js';
import type { Context } from './commands/shared.js';
import { plansCommand } from './commands/plans.js';
import { startCommand } from './commands/start.js';
import { tokensCommand } from './commands/tokens.js';
import { usageCommand } from './commands/usage.js';
import { processOutput, type Output } from './output.js';

/** Builds the `keygate` command. `env` supplies KEYGATE_ADMIN_URL / KEYGATE_ADMIN_TOKEN. */
export function buildProgram(io: Output = processOutput, env: NodeJS.ProcessEnv = process.env): Command {
  const program = new Command('keygate')
    .description('Keygate: an API gateway built around API key management')
    .option('--url <url>', 'admin API URL (default: $KEYGATE_ADMIN_URL or http://127.0.0.1:8081)')
    .option('--token <token>', 'admin token (default: $KEYGATE_ADMIN_TOKEN)')
    .option('--json', 'print JSON for scripts instead of tables')
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride();
  const ctx: Context = {
    client: () => {
      const o = program.opts<{ url?: string; token?: string }>();
      return new AdminClient({ url: o.url ?? env.KEYGATE_ADMIN_URL ?? 'http://127.0.0.1:8081', token: o.token ?? env.KEYGATE_ADMIN_TOKEN });
    },
    opts: () => ({ json: Boolean(program.opts<{ json?: boolean }>().json) }),
  };
  startCommand(program);
  appsCommand(program, ctx, io);
  keysCommand(program, ctx, io);
  plansCommand(program, ctx, io);
  tokensCommand(program, ctx, io);
  usageCommand(program, ctx, io);
  alertsCommand(program, ctx, io);
  monitorCommand(program, io);
  auditCommand(program, ctx, io);
  return program;
}

/** Runs the CLI; resolves to the exit status. Errors are printed as one line, never a stack. */
export async function run(argv: string[], io: Output = processOutput, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const program = buildProgram(io, env);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : err.exitCode || 2;
    if (err instanceof CliError) {
      io.err(`error: ${err.message}\n`);
      return err.exitCode;
    }
    io.err(`error: ${(err as Error).message}\n`);
    return 1;
  }
}
