/**
 * The line dashboard: loads config, starts, and handles signals. The first SIGTERM/SIGINT ends the
 * event streams and closes; a second one exits at once.
 */
import { parseArgs } from 'node:util';
import { STANDARD_ENV_ALIASES, loadConfig, redactSecrets } from '@loomwatch/config';
import { toLoomwatchError } from '@loomwatch/contracts';
import { createLogger, handleShutdown } from '@loomwatch/observability';
import { DashboardConfig } from './config.js';
import { startDashboardService } from './service.js';

const { values } = parseArgs({
  options: { config: { type: 'string', multiple: true }, set: { type: 'string', multiple: true } },
});

const bootLogger = createLogger({ service: 'dashboard' });
let config: DashboardConfig;
try {
  config = loadConfig(DashboardConfig, { files: values.config ?? [], envAliases: STANDARD_ENV_ALIASES, overrides: values.set ?? [] });
} catch (err) {
  bootLogger.fatal({ code: toLoomwatchError(err).code }, toLoomwatchError(err).message);
  process.exit(2);
}
const logger = createLogger({ service: 'dashboard', level: config.log.level });
logger.info({ config: redactSecrets(config) }, 'effective configuration');

try {
  const service = await startDashboardService(config, logger);
  handleShutdown({ logger, stop: () => service.stop(), timeoutMs: 15_000 });
} catch (err) {
  const error = toLoomwatchError(err);
  logger.fatal({ code: error.code, err: error.cause ?? error }, `dashboard failed to start: ${error.message}`);
  process.exit(1);
}
