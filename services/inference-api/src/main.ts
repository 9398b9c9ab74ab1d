/**
 * The REST inference API: loads config, starts, and handles signals. The first SIGTERM/SIGINT stops
 * accepting and lets the requests under way finish; a second one exits at once.
 */
import { type ServiceCommand, commandName, exitWithRuntimeError, exitWithUsageError, loadConfig, parseServiceArgs, redactSecrets } from '@loomwatch/config';
import { toLoomwatchError } from '@loomwatch/contracts';
import { createLogger, handleShutdown } from '@loomwatch/observability';
import { apiAuth } from './auth.js';
import { ApiConfig } from './config.js';
import { startApiService } from './service.js';

const COMMAND: ServiceCommand = {
  name: 'pnpm api',
  summary: 'The REST inference API: POST /v1/infer decides one image and answers the verdict, with links to its anomaly map and overlay.',
  examples: ['loomwatch api --set api.port=8090'],
  settings: ApiConfig,
  reference: 'services/inference-api/README.md',
};
const args = parseServiceArgs(COMMAND);

let config: ApiConfig;
try {
  config = loadConfig(ApiConfig, {
    files: args.configFiles,
    envAliases: { LOOMWATCH_MODEL: 'model', LOOMWATCH_API_TOKEN: 'api.token' },
    overrides: args.overrides,
  });
} catch (err) {
  exitWithUsageError(commandName(COMMAND.name), toLoomwatchError(err).message);
}
try {
  // Before anything is logged, so a missing token is one line on stderr, not a log record.
  apiAuth(config.api);
} catch (err) {
  exitWithRuntimeError(commandName(COMMAND.name), err);
}
const logger = createLogger({ service: 'inference-api', level: config.log.level });
logger.info({ config: redactSecrets(config) }, 'effective configuration');

try {
  const service = await startApiService(config, logger);
  handleShutdown({ logger, stop: () => service.stop(), timeoutMs: 30_000 });
} catch (err) {
  exitWithRuntimeError(commandName(COMMAND.name), err, { logger, failed: 'inference API failed to start' });
}
