/**
 * The alerting service: loads config, starts, handles signals. SIGHUP re-reads the config files
 * and swaps the rules (an invalid file keeps the old rules and logs the path at fault). First
 * SIGTERM/SIGINT drains within a bound; a second one exits at once.
 */
import { parseArgs } from 'node:util';
import { STANDARD_ENV_ALIASES, loadConfig, redactSecrets } from '@loomwatch/config';
import { toLoomwatchError } from '@loomwatch/contracts';
import { createLogger } from '@loomwatch/observability';
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

let stopping = false;
try {
  const service = await startAlerting(config, logger, {
    onFatal: () => process.exit(1),
  });
  const shutdown = (signal: string): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'draining');
    const force = setTimeout(() => {
      logger.error('drain took too long: exiting');
      process.exit(1);
    }, config.alerting.shutdownTimeoutMs);
    force.unref();
    void service.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
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
