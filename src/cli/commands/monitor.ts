import { createReadStream, statSync } from 'node:fs';
import { Transform } from 'node:stream';
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { ConfigError, loadConfig } from '../../config/load.js';
import { DetectionEngine } from '../../monitor/detect/engine.js';
import { defaultGeoDb, Locator } from '../../monitor/detect/geo.js';
import { replay } from '../../monitor/detect/replay.js';
import { detectorSettings } from '../../monitor/detect/settings.js';
import { CliError } from '../client.js';
import type { Output } from '../output.js';

export function monitorCommand(program: Command, io: Output): void {
  const monitor = program.command('monitor').description('abuse detection tools');
  monitor
    .command('replay <file>')
    .description('run the detectors over a JSON-lines file of past calls; alerts as JSON lines on stdout, progress and problems on stderr')
    .option('-c, --config <file>', 'take detector settings (monitoring.detectors, monitoring.geoDb) from this keygate.yaml')
    .option('--geo-db <file>', 'MaxMind-format database for addresses without a country (default: the bundled CC0 country database)')
    .action(async (file: string, opts: { config?: string; geoDb?: string }) => {
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        throw new CliError(`cannot read ${file}`);
      }
      let settings = detectorSettings();
      let geoDb = opts.geoDb;
      if (opts.config) {
        try {
          const config = loadConfig({ path: opts.config });
          settings = detectorSettings(config.monitoring.detectors);
          geoDb ??= config.monitoring.geoDb;
        } catch (err) {
          if (err instanceof ConfigError) throw new CliError(`configuration error: ${err.message}`);
          throw err;
        }
      }
      let locator: Locator;
      try {
        locator = await Locator.open(geoDb ?? defaultGeoDb());
      } catch (err) {
        throw new CliError(`cannot open the location database ${geoDb}: ${(err as Error).message}`);
      }
      const engine = new DetectionEngine({ settings, locator, maxKeys: 1_000_000 });
      let read = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _e, done) {
          read += chunk.length;
          done(null, chunk);
        },
      });
      const bar = process.stderr.isTTY ? new SingleBar({ format: 'replaying [{bar}] {percentage}% | {lines} lines | {alerts} alerts', stream: process.stderr }) : null;
      bar?.start(size, 0, { lines: 0, alerts: 0 });
      let alerts = 0;
      let lastPercent = 0;
      const started = Date.now();
      const result = await replay(
        createReadStream(file).pipe(counter),
        engine,
        (line) => {
          alerts++;
          io.out(line + '\n');
        },
        (line) => {
          bar?.stop();
          io.err(line + '\n');
          bar?.start(size, read, { alerts });
        },
        (lines) => {
          bar?.update(read, { lines, alerts });
          const percent = size ? Math.floor((read / size) * 10) * 10 : 100;
          if (!bar && percent > lastPercent) {
            lastPercent = percent;
            io.err(`replaying: ${percent}% (${lines} lines, ${alerts} alerts)\n`);
          }
        },
      );
      bar?.update(size, { lines: result.lines, alerts: result.alerts });
      bar?.stop();
      io.err(
        `replayed ${result.events} events from ${result.lines} lines in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
          `${result.alerts} alerts, ${result.broken} broken lines, ${result.outOfOrder} out of order (skipped)\n`,
      );
    });
}
