/**
 * The camera gateway: `gateway <simulate|hot-folder|http> [--config file.yaml]... [--set a.b=c]...`.
 * Loads config, starts the mode, handles signals. The first SIGTERM/SIGINT stops taking frames and
 * lets those under way finish (bounded by gateway.shutdownTimeoutMs); a second one exits at once.
 */
import { parseArgs } from 'node:util';
import { STANDARD_ENV_ALIASES, loadConfig, redactSecrets } from '@loomwatch/config';
import { toLoomwatchError } from '@loomwatch/contracts';
import { createLogger, handleShutdown } from '@loomwatch/observability';
import { GATEWAY_MODES, GatewayConfig, type GatewayMode } from './config.js';
import { startGateway } from './gateway.js';

const USAGE = 'usage: gateway <simulate|hot-folder|http> [--config file.yaml]... [--set path.to.key=value]...';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { config: { type: 'string', multiple: true }, set: { type: 'string', multiple: true } },
});

const bootLogger = createLogger({ service: 'camera-gateway' });
const mode = positionals[0];
if (positionals.length !== 1 || !GATEWAY_MODES.includes(mode as GatewayMode)) {
  bootLogger.fatal(USAGE);
  process.exit(2);
}
let config: GatewayConfig;
try {
  config = loadConfig(GatewayConfig, {
    files: values.config ?? [],
    envAliases: { ...STANDARD_ENV_ALIASES, AITEX_DIR: 'simulator.dir' },
    overrides: values.set ?? [],
  });
} catch (err) {
  bootLogger.fatal({ code: toLoomwatchError(err).code }, toLoomwatchError(err).message);
  process.exit(2);
}
const logger = createLogger({ service: 'camera-gateway', level: config.log.level });
logger.info({ mode, config: redactSecrets(config) }, 'effective configuration');

try {
  const gateway = await startGateway(mode as GatewayMode, config, logger);
  const shutdown = handleShutdown({ logger, stop: () => gateway.stop(), timeoutMs: config.gateway.shutdownTimeoutMs });
  gateway.finished.then(
    () => shutdown('done', 0),
    (err: unknown) => {
      const error = toLoomwatchError(err);
      logger.fatal({ code: error.code }, `the ${mode} mode failed: ${error.message}`);
      shutdown('failed', 1);
    },
  );
} catch (err) {
  const error = toLoomwatchError(err);
  logger.fatal({ code: error.code, err: error.cause ?? error }, `gateway failed to start: ${error.message}`);
  process.exit(1);
}
