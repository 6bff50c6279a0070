import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../../config/load.js';
import { startGateway, StartupError } from '../../main.js';
import { CliError } from '../client.js';

export function startCommand(program: Command): void {
  program
    .command('start')
    .description('start a gateway (proxy + admin API) with keygate.yaml or the embedded defaults')
    .option('-c, --config <file>', 'configuration file (default: $KEYGATE_CONFIG, then ./keygate.yaml)')
    .action(async (opts: { config?: string }) => {
      let gateway;
      try {
        gateway = await startGateway(loadConfig(opts.config ? { path: opts.config } : {}));
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(`configuration error: ${err.message}`);
        if (err instanceof StartupError) throw new CliError(`cannot start: ${err.message}`);
        throw err;
      }
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        gateway.logger.info({ signal }, 'shutting down: finishing in-flight requests');
        gateway.close().then(
          () => {
            gateway.logger.info('stopped');
            gateway.logger.flush?.();
            process.exit(0);
          },
          (err: unknown) => {
            gateway.logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      // Stay up until a signal arrives.
      await new Promise(() => {});
    });
}
