import { pino, type Logger, type LoggerOptions } from 'pino';

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
}

/** JSON logs on stdout (or a given destination), one line per event. */
export function createLogger(config: LoggerConfig, destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    level: config.level ?? process.env['LOG_LEVEL'] ?? 'info',
    base: { service: config.service },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination === undefined ? pino(options) : pino(options, destination as pino.DestinationStream);
}
