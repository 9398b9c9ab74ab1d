/**
 * The inference worker: loads config, starts, and handles signals. First SIGTERM/SIGINT drains
 * (stops fetching, lets in-flight frames finish or drop uncommitted, closes) within a bound; a
 * second one exits at once. A static member (worker.groupInstanceId) stays in its group on
 * SIGTERM/SIGINT — it is restarting, and gets its partitions back under the same id without a
 * rebalance — while SIGUSR2 drains it leaving the group for good (a scale-down), so its partitions
 * move at once. A consumer that crashed for good stops the worker with exit code 1.
 */
import { STANDARD_ENV_ALIASES, type ServiceCommand, commandName, exitWithRuntimeError, exitWithUsageError, loadConfig, parseServiceArgs, redactSecrets } from '@loomwatch/config';
import { toLoomwatchError } from '@loomwatch/contracts';
import { leaveGroupsOnStop } from '@loomwatch/kafka';
import { createLogger, handleShutdown } from '@loomwatch/observability';
import { WorkerConfig } from './config.js';
import { startWorker } from './worker.js';

const COMMAND: ServiceCommand = {
  name: 'pnpm worker',
  summary: 'The inference worker: decides each frame on frames.v1 with the deployed model version and publishes its verdict (or a dead letter with the reason) exactly once.',
  examples: ['LOOMWATCH_MODEL=patchcore-aitex loomwatch worker --set worker.maxInFlight=4'],
  settings: WorkerConfig,
  reference: 'README.md (Configuration) and services/inference-worker/README.md',
};
const args = parseServiceArgs(COMMAND);

let config: WorkerConfig;
try {
  config = loadConfig(WorkerConfig, {
    files: args.configFiles,
    envAliases: { ...STANDARD_ENV_ALIASES, LOOMWATCH_MODEL: 'model', WORKER_ID: 'worker.id' },
    overrides: args.overrides,
  });
} catch (err) {
  exitWithUsageError(commandName(COMMAND.name), toLoomwatchError(err).message);
}
const logger = createLogger({ service: 'inference-worker', level: config.log.level });
logger.info({ config: redactSecrets(config) }, 'effective configuration');

try {
  const worker = await startWorker(config, logger);
  const shutdown = handleShutdown({ logger, stop: () => worker.stop(), timeoutMs: config.worker.shutdownTimeoutMs });
  // Removed for good (a scale-down): leave the group, so the partitions move now, not after the session timeout.
  process.once('SIGUSR2', () => {
    leaveGroupsOnStop();
    shutdown('SIGUSR2: leaving the group for good', 0);
  });
  worker.onFatal((err) => {
    // A worker whose consumer is dead decides nothing more: exit non-zero so the orchestrator restarts it.
    logger.fatal({ err }, `the Kafka consumer crashed and will not be restarted: stopping the worker (${err.message})`);
    shutdown('consumer crashed', 1);
  });
} catch (err) {
  exitWithRuntimeError(commandName(COMMAND.name), err, { logger, failed: 'worker failed to start' });
}
