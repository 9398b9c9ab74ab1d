/**
 * The camera gateway: `gateway <simulate|hot-folder|http> [--config file.yaml]... [--set a.b=c]...` (`--help`),
 * and `gateway token --line L --camera C`, which mints a camera's credential and exits.
 * Loads config, starts the mode, handles signals. The first SIGTERM/SIGINT stops taking frames and
 * lets those under way finish (bounded by gateway.shutdownTimeoutMs); a second one exits at once.
 */
import { STANDARD_ENV_ALIASES, commandName, exitWithRuntimeError, exitWithUsageError, loadConfig, parseServiceArgs, redactSecrets, type ServiceCommand } from '@loomwatch/config';
import { toLoomwatchError } from '@loomwatch/contracts';
import type { TokenTable } from '@loomwatch/http';
import { createLogger, handleShutdown } from '@loomwatch/observability';
import { GATEWAY_ENV_ALIASES, GATEWAY_MODES, GatewayConfig, checkModeSettings, type GatewayMode } from './config.js';
import { httpCameras, type Camera } from './credentials.js';
import { startGateway } from './gateway.js';
import { runTokenCommand } from './token-command.js';

if (process.argv[2] === 'token') {
  runTokenCommand(process.argv.slice(3));
  process.exit(0);
}

const COMMAND: ServiceCommand = {
  name: 'pnpm gateway',
  summary: 'The camera gateway: stores each frame image in S3, then publishes its FrameEvent on frames.v1 — simulated cameras replaying image files, a hot folder the camera software writes into, or HTTP uploads.',
  modes: GATEWAY_MODES,
  examples: [
    'loomwatch gateway simulate --set simulator.framesPerCamera=5',
    'loomwatch gateway hot-folder --set hotFolder.dir=/srv/camera-1 --set hotFolder.lineId=line-2 --set hotFolder.fabricCode=05',
    'loomwatch gateway http --set http.port=8080 --set http.cameraCredentialsFile=/etc/loomwatch/cameras.json',
    'loomwatch gateway token --line line-1 --camera cam-1   # mint a camera token (gateway token --help)',
  ],
  settings: GatewayConfig,
  reference: 'services/camera-gateway/README.md',
};
const args = parseServiceArgs(COMMAND);
const mode = args.mode as GatewayMode;

let config: GatewayConfig;
let cameras: TokenTable<Camera> | 'none' = 'none';
try {
  config = loadConfig(GatewayConfig, {
    files: args.configFiles,
    envAliases: { ...STANDARD_ENV_ALIASES, ...GATEWAY_ENV_ALIASES },
    overrides: args.overrides,
  });
  checkModeSettings(mode, config);
  if (mode === 'http') cameras = httpCameras(config.http);
} catch (err) {
  exitWithUsageError(commandName(COMMAND.name), toLoomwatchError(err).message);
}
const logger = createLogger({ service: 'camera-gateway', level: config.log.level });
logger.info({ mode, config: redactSecrets(config) }, 'effective configuration');

try {
  const gateway = await startGateway(mode, config, logger, cameras);
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
  exitWithRuntimeError(commandName(COMMAND.name), err, { logger, failed: 'gateway failed to start' });
}
