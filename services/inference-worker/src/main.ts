/**
 * The inference worker: loads config, starts, and handles signals. First SIGTERM/SIGINT drains
 * (stops fetching, lets in-flight frames finish or drop uncommitted, closes) within a bound; a
 * second one exits at once.
 */
import { parseArgs } from 'node:util';
import { STANDARD_ENV_ALIASES, loadConfig, redactSecrets } from '@loomwatch/config';
import { toLoomwatchError } from '@loomwatch/contracts';
import { createLogger } from '@loomwatch/observability';
import { WorkerConfig } from './config.js';
import { startWorker } from './worker.js';

const { values } = parseArgs({
  options: { config: { type: 'string', multiple: true }, set: { type: 'string', multiple: true } },
});

const bootLogger = createLogger({ service: 'inference-worker' });
let config: WorkerConfig;
try {
  config = loadConfig(WorkerConfig, {
    files: values.config ?? [],
    envAliases: { ...STANDARD_ENV_ALIASES, LOOMWATCH_MODEL: 'model', WORKER_ID: 'worker.id' },
    overrides: values.set ?? [],
  });
} catch (err) {
  bootLogger.fatal({ code: toLoomwatchError(err).code }, toLoomwatchError(err).message);
  process.exit(2);
}
const logger = createLogger({ service: 'inference-worker', level: config.log.level });
logger.info({ config: redactSecrets(config) }, 'effective configuration');

let stopping = false;
try {
  const worker = await startWorker(config, logger);
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
    }, config.worker.shutdownTimeoutMs);
    force.unref();
    void worker.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
} catch (err) {
  const error = toLoomwatchError(err);
  logger.fatal({ code: error.code, err: error.cause ?? error }, `worker failed to start: ${error.message}`);
  process.exit(1);
}
