/**
 * The drift monitor: loads config, starts, handles signals. First SIGTERM/SIGINT drains within a
 * bound; a second one exits at once.
 */
import { parseArgs } from 'node:util';
import { STANDARD_ENV_ALIASES, loadConfig, redactSecrets } from '@loomwatch/config';
import { toLoomwatchError } from '@loomwatch/contracts';
import { createLogger, handleShutdown } from '@loomwatch/observability';
import { DriftConfig } from './config.js';
import { startDriftMonitor } from './service.js';

const { values } = parseArgs({
  options: { config: { type: 'string', multiple: true }, set: { type: 'string', multiple: true } },
});

const bootLogger = createLogger({ service: 'drift-monitor' });
let config: DriftConfig;
try {
  config = loadConfig(DriftConfig, { files: values.config ?? [], envAliases: STANDARD_ENV_ALIASES, overrides: values.set ?? [] });
} catch (err) {
  bootLogger.fatal({ code: toLoomwatchError(err).code }, toLoomwatchError(err).message);
  process.exit(2);
}
const logger = createLogger({ service: 'drift-monitor', level: config.log.level });
logger.info({ config: redactSecrets(config) }, 'effective configuration');

try {
  const service = await startDriftMonitor(config, logger, { onFatal: () => process.exit(1) });
  handleShutdown({ logger, stop: () => service.stop(), timeoutMs: config.drift.shutdownTimeoutMs });
} catch (err) {
  const error = toLoomwatchError(err);
  logger.fatal({ code: error.code, err: error.cause ?? error }, `the drift monitor failed to start: ${error.message}`);
  process.exit(1);
}
