/**
 * The alerting service: loads config, starts, handles signals. SIGHUP re-reads the config files
 * and swaps the rules (an invalid file keeps the old rules and logs the path at fault). First
 * SIGTERM/SIGINT drains within a bound; a second one exits at once.
 */
import { parseArgs } from 'node:util';
import { STANDARD_ENV_ALIASES, loadConfig, redactSecrets } from '@loomwatch/config';
import { toLoomwatchError } from '@loomwatch/contracts';
import { createLogger, handleShutdown } from '@loomwatch/observability';
import { AlertingConfig } from './config.js';
import { startAlerting } from './service.js';

const { values } = parseArgs({
  options: { config: { type: 'string', multiple: true }, set: { type: 'string', multiple: true } },
});
const load = (): AlertingConfig =>
  loadConfig(AlertingConfig, { files: values.config ?? [], envAliases: STANDARD_ENV_ALIASES, overrides: values.set ?? [] });

const bootLogger = createLogger({ service: 'alerting' });
let config: AlertingConfig;
try {
  config = load();
} catch (err) {
  bootLogger.fatal({ code: toLoomwatchError(err).code }, toLoomwatchError(err).message);
  process.exit(2);
}
const logger = createLogger({ service: 'alerting', level: config.log.level });
logger.info({ config: redactSecrets(config) }, 'effective configuration');

try {
  const service = await startAlerting(config, logger, {
    onFatal: () => process.exit(1),
  });
  handleShutdown({ logger, stop: () => service.stop(), timeoutMs: config.alerting.shutdownTimeoutMs });
  process.on('SIGHUP', () => {
    let next: AlertingConfig;
    try {
      next = load();
    } catch (err) {
      logger.error({ code: toLoomwatchError(err).code }, `rules not reloaded: ${toLoomwatchError(err).message}`);
      return;
    }
    void service.reloadRules(next.rules);
  });
} catch (err) {
  const error = toLoomwatchError(err);
  logger.fatal({ code: error.code, err: error.cause ?? error }, `alerting failed to start: ${error.message}`);
  process.exit(1);
}
