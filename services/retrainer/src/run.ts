/**
 * `loomwatch retrain run [--once]`: loads config, starts the retrainer, handles signals. First
 * SIGTERM/SIGINT stops a refit under way (it is redone on restart); a second one exits at once.
 * `--once` runs the requests pending when the topics are read, then exits (0), as a Kubernetes
 * Job does; a request stopped part-way continues from its last recorded step on the next run.
 * Not a `src/main.ts` (yet): the retrainer has no image, compose service or k8s manifest, which
 * every `services/<dir>/src/main.ts` must have (packages/testkit deploy-facts) — it needs the
 * models' Python environment beside Node, a Kubernetes Job rather than a Deployment (README).
 */
import { STANDARD_ENV_ALIASES, commandName, exitWithRuntimeError, exitWithUsageError, loadConfig, parseOrExit, redactSecrets, serviceCommand, type ServiceCommand } from '@loomwatch/config';
import { toLoomwatchError } from '@loomwatch/contracts';
import { createLogger, handleShutdown } from '@loomwatch/observability';
import { RetrainConfig } from './config.js';
import { startRetrainer } from './service.js';

export const RUN_COMMAND: ServiceCommand = {
  name: 'pnpm retrain run',
  summary: "The retrainer: runs each retrain request on control.v1 (snapshot, refit, shadow, replay, the guard), and with policy.model asks for one when a fabric gathers enough new false alarms (and with policy.drift when a drift alert is open on it).",
  examples: ['loomwatch retrain run --set policy.model=patchcore-aitex --set policy.falseAlarms=5', 'loomwatch retrain run --once   # the pending requests, then exit (a Kubernetes Job)'],
  settings: RetrainConfig,
  reference: 'services/retrainer/README.md',
};

export interface RunArgs {
  configFiles: string[];
  overrides: string[];
  /** Run the pending requests, then exit. */
  once: boolean;
}

/** `run`'s command line: the service's (`--config`, `--set`) and `--once`; exits after --help or a mistake. */
export function parseRunArgs(argv: readonly string[]): RunArgs {
  const command = serviceCommand(RUN_COMMAND).option('--once', 'run the requests pending once control.v1 is read (and those the policies ask for then), then exit');
  parseOrExit(command, argv);
  const options = command.opts<{ config?: string[]; set?: string[]; once?: boolean }>();
  return { configFiles: options.config ?? [], overrides: options.set ?? [], once: options.once === true };
}

export async function runService(args: RunArgs): Promise<void> {
  let config: RetrainConfig;
  try {
    config = loadConfig(RetrainConfig, { files: args.configFiles, envAliases: STANDARD_ENV_ALIASES, overrides: args.overrides });
  } catch (err) {
    exitWithUsageError(commandName(RUN_COMMAND.name), toLoomwatchError(err).message);
  }
  const logger = createLogger({ service: 'retrainer', level: config.log.level });
  logger.info({ config: redactSecrets(config) }, 'effective configuration');
  try {
    const service = await startRetrainer(config, logger, { once: args.once });
    handleShutdown({ logger, stop: () => service.stop(), timeoutMs: config.retrain.shutdownTimeoutMs });
    if (args.once) {
      await service.drained;
      await service.stop();
      logger.info('retrainer --once: no pending request left');
      process.exit(0);
    }
  } catch (err) {
    exitWithRuntimeError(commandName(RUN_COMMAND.name), err, { logger, failed: 'the retrainer failed to start' });
  }
}
