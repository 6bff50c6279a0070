import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../../config/load.js';
import { startGateway, StartupError, type Gateway } from '../../main.js';
import { CliError } from '../client.js';

export function startCommand(program: Command): void {
  program
    .command('start')
    .description('start a gateway (proxy + admin API) with keygate.yaml or the embedded defaults')
    .option('-c, --config <file>', 'configuration file (default: $KEYGATE_CONFIG, then ./keygate.yaml)')
    .action(async (opts: { config?: string }) => {
      // Signals are handled from the start: one that arrives while the gateway is still starting
      // (even between its "keygate started" line and the return) stops it as soon as it is up,
      // rather than killing it with nothing flushed. A second signal during start-up exits at once.
      let gateway: Gateway | null = null;
      let pending: string | null = null;
      let stopping = false;
      const stop = (signal: string) => {
        if (gateway === null) {
          if (pending !== null) process.exit(1);
          pending = signal;
          return;
        }
        if (stopping) return;
        stopping = true;
        const running = gateway;
        running.logger.info({ signal }, 'shutting down: finishing in-flight requests');
        running.close().then(
          () => {
            running.logger.info('stopped');
            running.logger.flush?.();
            process.exit(0);
          },
          (err: unknown) => {
            running.logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      try {
        gateway = await startGateway(loadConfig(opts.config ? { path: opts.config } : {}));
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(`configuration error: ${err.message}`);
        if (err instanceof StartupError) throw new CliError(`cannot start: ${err.message}`);
        throw err;
      }
      if (pending !== null) stop(pending);
      // Stay up until a signal arrives.
      await new Promise(() => {});
    });
}
