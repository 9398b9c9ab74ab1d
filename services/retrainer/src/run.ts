/**
 * `loomwatch retrain run`: loads config, starts the retrainer, handles signals. First
 * SIGTERM/SIGINT stops a refit under way (it is redone on restart); a second one exits at once.
 * Not a `src/main.ts` (yet): the retrainer has no image, compose service or k8s manifest, which
 * every `services/<dir>/src/main.ts` must have (packages/testkit deploy-facts) — it needs the
 * models' Python environment beside Node, a Kubernetes Job rather than a Deployment (README).
 */
import { STANDARD_ENV_ALIASES, commandName, exitWithRuntimeError, exitWithUsageError, loadConfig, redactSecrets, type ServiceCommand } from '@loomwatch/config';
import { toLoomwatchError } from '@loomwatch/contracts';
import { createLogger, handleShutdown } from '@loomwatch/observability';
import { RetrainConfig } from './config.js';
import { startRetrainer } from './service.js';

export const RUN_COMMAND: ServiceCommand = {
  name: 'pnpm retrain run',
  summary: "The retrainer: runs each retrain request on control.v1 (snapshot, refit, shadow), and with policy.model asks for one when a fabric gathers enough new false alarms.",
  examples: ['loomwatch retrain run --set policy.model=patchcore-aitex --set policy.falseAlarms=5'],
  settings: RetrainConfig,
  reference: 'services/retrainer/README.md',
};

export async function runService(args: { configFiles: string[]; overrides: string[] }): Promise<void> {
  let config: RetrainConfig;
  try {
    config = loadConfig(RetrainConfig, { files: args.configFiles, envAliases: STANDARD_ENV_ALIASES, overrides: args.overrides });
  } catch (err) {
    exitWithUsageError(commandName(RUN_COMMAND.name), toLoomwatchError(err).message);
  }
  const logger = createLogger({ service: 'retrainer', level: config.log.level });
  logger.info({ config: redactSecrets(config) }, 'effective configuration');
  try {
    const service = await startRetrainer(config, logger);
    handleShutdown({ logger, stop: () => service.stop(), timeoutMs: config.retrain.shutdownTimeoutMs });
  } catch (err) {
    exitWithRuntimeError(commandName(RUN_COMMAND.name), err, { logger, failed: 'the retrainer failed to start' });
  }
}
