import { pino, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

/** Paths pino blanks out wherever they appear, so credentials never reach a log line. */
const REDACT_PATHS = [
  '*.secretAccessKey',
  '*.*.secretAccessKey',
  '*.password',
  '*.*.password',
  '*.token',
  '*.secret',
  '*.*.secret',
  '*.signingKey',
  '*.*.signingKey',
  'headers.authorization',
  '*.headers.authorization',
  'credentials',
  '*.credentials',
];

export interface LoggerConfig {
  /** @defaultValue 'info' (or LOG_LEVEL) */
  level?: string;
  /** Service name, put on every line. */
  service: string;
  /** @defaultValue 'json' (or LOG_FORMAT): JSON for machines, 'pretty' for people */
  format?: 'json' | 'pretty';
}

/**
 * One line per event on stdout (or a given destination): JSON for machines, or — with
 * `LOG_FORMAT=pretty` — one readable line (time, level, service, message, fields) for people.
 */
export function createLogger(config: LoggerConfig, destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    level: config.level ?? process.env['LOG_LEVEL'] ?? 'info',
    base: { service: config.service },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if ((config.format ?? process.env['LOG_FORMAT']) === 'pretty') {
    const stream = pretty({ destination: destination ?? process.stdout, colorize: destination === undefined && process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true });
    return pino(options, stream);
  }
  return destination === undefined ? pino(options) : pino(options, destination as pino.DestinationStream);
}
