/**
 * The alerting service: loads config, starts, handles signals. SIGHUP re-reads the config files
 * and swaps the rules (an invalid file keeps the old rules and logs the path at fault). First
 * SIGTERM/SIGINT drains within a bound; a second one exits at once.
 */
import { STANDARD_ENV_ALIASES, type ServiceCommand, commandName, exitWithRuntimeError, exitWithUsageError, loadConfig, parseServiceArgs, redactSecrets } from '@loomwatch/config';
import { toLoomwatchError } from '@loomwatch/contracts';
import { createLogger, handleShutdown } from '@loomwatch/observability';
import { AlertingConfig } from './config.js';
import { startAlerting } from './service.js';

const COMMAND: ServiceCommand = {
  name: 'pnpm alerting',
  summary: 'Alerting: turns verdicts, dead letters, frames and drift judgements into alerts on alerts.v1 and signed webhooks; SIGHUP reloads the rules.',
  examples: ['loomwatch alerting --config deploy/local/demo-alerting.yaml'],
  settings: AlertingConfig,
  reference: 'services/alerting/README.md',
};
const args = parseServiceArgs(COMMAND);
const load = (): AlertingConfig =>
  loadConfig(AlertingConfig, { files: args.configFiles, envAliases: STANDARD_ENV_ALIASES, overrides: args.overrides });

let config: AlertingConfig;
try {
  config = load();
} catch (err) {
  exitWithUsageError(commandName(COMMAND.name), toLoomwatchError(err).message);
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
  exitWithRuntimeError(commandName(COMMAND.name), err, { logger, failed: 'alerting failed to start' });
}
