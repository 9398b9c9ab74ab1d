/**
 * The drift monitor: loads config, starts, handles signals. First SIGTERM/SIGINT drains within a
 * bound; a second one exits at once.
 */
import { STANDARD_ENV_ALIASES, type ServiceCommand, commandName, exitWithRuntimeError, exitWithUsageError, loadConfig, parseServiceArgs, redactSecrets } from '@loomwatch/config';
import { toLoomwatchError } from '@loomwatch/contracts';
import { createLogger, handleShutdown } from '@loomwatch/observability';
import { DriftConfig } from './config.js';
import { startDriftMonitor } from './service.js';

const COMMAND: ServiceCommand = {
  name: 'pnpm drift',
  summary: 'The drift monitor: judges windows of each camera\'s verdicts against the model card\'s reference profile and publishes drift.v1.',
  examples: ['loomwatch drift --set window.inputFrames=32'],
  settings: DriftConfig,
  reference: 'services/drift-monitor/README.md',
};
const args = parseServiceArgs(COMMAND);

let config: DriftConfig;
try {
  config = loadConfig(DriftConfig, { files: args.configFiles, envAliases: STANDARD_ENV_ALIASES, overrides: args.overrides });
} catch (err) {
  exitWithUsageError(commandName(COMMAND.name), toLoomwatchError(err).message);
}
const logger = createLogger({ service: 'drift-monitor', level: config.log.level });
logger.info({ config: redactSecrets(config) }, 'effective configuration');

try {
  const service = await startDriftMonitor(config, logger, { onFatal: () => process.exit(1) });
  handleShutdown({ logger, stop: () => service.stop(), timeoutMs: config.drift.shutdownTimeoutMs });
} catch (err) {
  exitWithRuntimeError(commandName(COMMAND.name), err, { logger, failed: 'the drift monitor failed to start' });
}
