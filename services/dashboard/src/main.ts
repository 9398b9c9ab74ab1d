/**
 * The line dashboard: loads config, starts, and handles signals. The first SIGTERM/SIGINT ends the
 * event streams and closes; a second one exits at once.
 */
import { STANDARD_ENV_ALIASES, type ServiceCommand, commandName, exitWithRuntimeError, exitWithUsageError, loadConfig, parseServiceArgs, redactSecrets } from '@loomwatch/config';
import { toLoomwatchError } from '@loomwatch/contracts';
import { createLogger, handleShutdown } from '@loomwatch/observability';
import { DashboardConfig } from './config.js';
import { startDashboardService } from './service.js';

const COMMAND: ServiceCommand = {
  name: 'pnpm dashboard',
  summary: 'The line dashboard: a web page of lines, cameras, alerts, drift and dead letters, streamed from the topics.',
  examples: ['loomwatch dashboard --set dashboard.port=8095'],
  settings: DashboardConfig,
  reference: 'services/dashboard/README.md',
};
const args = parseServiceArgs(COMMAND);
/** The secrets come from the environment (k8s Secret `loomwatch-dashboard-auth`); the local provider's `$STATE/env` names its issuer and client. */
const ENV_ALIASES = {
  ...STANDARD_ENV_ALIASES,
  LOOMWATCH_OIDC_ISSUER: 'auth.oidc.issuer',
  LOOMWATCH_OIDC_CLIENT_ID: 'auth.oidc.clientId',
  LOOMWATCH_OIDC_CLIENT_SECRET: 'auth.oidc.clientSecret',
  LOOMWATCH_SESSION_SECRET: 'auth.sessionSecret',
};

let config: DashboardConfig;
try {
  config = loadConfig(DashboardConfig, { files: args.configFiles, envAliases: ENV_ALIASES, overrides: args.overrides });
} catch (err) {
  exitWithUsageError(commandName(COMMAND.name), toLoomwatchError(err).message);
}
const logger = createLogger({ service: 'dashboard', level: config.log.level });
logger.info({ config: redactSecrets(config) }, 'effective configuration');

try {
  const service = await startDashboardService(config, logger);
  handleShutdown({ logger, stop: () => service.stop(), timeoutMs: 15_000 });
} catch (err) {
  exitWithRuntimeError(commandName(COMMAND.name), err, { logger, failed: 'dashboard failed to start' });
}
