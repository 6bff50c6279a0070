import { createReadStream, statSync } from 'node:fs';
import { extname } from 'node:path';
import { Transform } from 'node:stream';
import { SingleBar } from 'cli-progress';
import { CliError, type AdminClient } from '../client.js';
import type { Output } from '../output.js';

export interface ImportAnswer {
  imported: number;
  failed: Array<{ line: number; code: string; detail: string }>;
}

/**
 * Streams a key file to `POST /v1/keys/import` (never read into memory), with a progress bar
 * on stderr: the server imports as the bytes arrive, so bytes sent track keys imported.
 */
export async function importFile(client: AdminClient, file: string, format: string | undefined, appId: string | undefined, io: Output): Promise<ImportAnswer> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new CliError(`cannot read ${file}`);
  }
  const kind = format ?? (extname(file).toLowerCase() === '.json' ? 'json' : 'csv');
  const bar = process.stderr.isTTY ? new SingleBar({ format: 'importing [{bar}] {percentage}% | {value}/{total} bytes', stream: process.stderr }) : null;
  bar?.start(size, 0);
  let sent = 0;
  let lastReported = 0;
  const progress = new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      bar?.update(sent);
      // Without a terminal, a line every 10% keeps logs readable.
      if (!bar && size > 0 && sent - lastReported >= size / 10) {
        lastReported = sent;
        io.err(`importing: ${Math.round((sent / size) * 100)}%\n`);
      }
      done(null, chunk);
    },
  });
  const body = createReadStream(file).pipe(progress);
  try {
    return await client.post<ImportAnswer>(`/v1/keys/import${appId ? `?appId=${encodeURIComponent(appId)}` : ''}`, body, kind === 'json' ? 'application/json' : 'text/csv');
  } finally {
    bar?.stop();
  }
}
