/**
 * The REST inference API: loads config, starts, and handles signals. The first SIGTERM/SIGINT stops
 * accepting and lets the requests under way finish; a second one exits at once.
 */
import { parseArgs } from 'node:util';
import { loadConfig, redactSecrets } from '@loomwatch/config';
import { toLoomwatchError } from '@loomwatch/contracts';
import { createLogger, handleShutdown } from '@loomwatch/observability';
import { ApiConfig } from './config.js';
import { startApiService } from './service.js';

const { values } = parseArgs({
  options: { config: { type: 'string', multiple: true }, set: { type: 'string', multiple: true } },
});

const bootLogger = createLogger({ service: 'inference-api' });
let config: ApiConfig;
try {
  config = loadConfig(ApiConfig, {
    files: values.config ?? [],
    envAliases: { LOOMWATCH_MODEL: 'model', LOOMWATCH_API_TOKEN: 'api.bearerToken' },
    overrides: values.set ?? [],
  });
} catch (err) {
  bootLogger.fatal({ code: toLoomwatchError(err).code }, toLoomwatchError(err).message);
  process.exit(2);
}
const logger = createLogger({ service: 'inference-api', level: config.log.level });
logger.info({ config: redactSecrets(config) }, 'effective configuration');

try {
  const service = await startApiService(config, logger);
  handleShutdown({ logger, stop: () => service.stop(), timeoutMs: 30_000 });
} catch (err) {
  const error = toLoomwatchError(err);
  logger.fatal({ code: error.code, err: error.cause ?? error }, `inference API failed to start: ${error.message}`);
  process.exit(1);
}
