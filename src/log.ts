import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/**
 * The process logger (JSON lines on stdout). Request headers and bodies are never logged, and
 * the redaction below is a second line of defence for any field that could carry a credential.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'keygate' },
      redact: {
        paths: ['key', '*.key', 'token', '*.token', 'authorization', '*.authorization', 'headers', '*.headers', 'x-api-key'],
        censor: '[redacted]',
      },
    },
    (destination ?? process.stdout) as pino.DestinationStream,
  );
}
