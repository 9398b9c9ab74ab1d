/**
 * `replay run …` decides past frames again with one model version; `replay report …` compares a
 * replay's verdicts with a baseline. Exit codes: 0 done (or stopped by a signal: run again to
 * continue), 1 failure, 2 bad arguments or configuration. The first SIGTERM/SIGINT stops and
 * commits what is decided, a second exits at once.
 */
import { chooseSubcommand, commandName, exitWithUsageError } from '@loomwatch/config';
import { toLoomwatchError } from '@loomwatch/contracts';
import { createLogger, handleShutdown } from '@loomwatch/observability';
import { REPLAY_NAME, parseReplayArgs, type ReplayArgs } from './args.js';
import { loadReplayConfig, type ReplayConfig } from './config.js';
import { formatSummary, type ReplaySummary } from './progress.js';
import { startReplay } from './replay.js';

const stderr = (line: string): void => void process.stderr.write(`${line}\n`);
const name = commandName(REPLAY_NAME);


const sub = chooseSubcommand({
  name: REPLAY_NAME,
  summary: 'Decides past frames again with another model version, and compares the verdicts.',
  examples: ['loomwatch replay run --from earliest --model draem-aitex@1.2.0', 'loomwatch replay report --replay-topic verdicts.replay.<name>.1.2.0'],
  notes: [`${REPLAY_NAME} run --help and ${REPLAY_NAME} report --help show each one's options.`],
  subcommands: [
    ['run', 'decide past frames again with one model version, into a topic of its own'],
    ['report', 'compare a replay\'s (or the shadow\'s) verdicts with a baseline'],
  ],
});
if (sub.name === 'report') {
  // The report subcommand is its own module, loaded only when asked for.
  const { runReportCommand } = await import('./report-cli.js');
  process.exit(await runReportCommand(sub.argv));
}

let args: ReplayArgs;
let config: ReplayConfig;
try {
  const parsed = parseReplayArgs(sub.argv, name);
  if (parsed === 'help') process.exit(0);
  args = parsed;
  config = loadReplayConfig({ files: args.configFiles, overrides: args.overrides, workers: args.workers });
} catch (err) {
  exitWithUsageError(`${name} run`, toLoomwatchError(err).message);
}

const logger = createLogger({ service: 'replay', level: config.log.level }, process.stderr);
// The Kafka client's warnings are meant for a long-running service's logs: at the replay's
// default level (warn) only its errors reach the terminal.
const kafkaLogger = config.log.level === 'warn' ? logger.child({}, { level: 'error' }) : logger;
const print = (summary: ReplaySummary): void => console.log(args.json ? JSON.stringify(summary) : formatSummary(summary));

try {
  const replay = await startReplay({ config, args, logger, kafkaLogger, onProgress: stderr });
  handleShutdown({
    logger,
    stop: async () => print(await replay.stop()),
    timeoutMs: config.worker.shutdownTimeoutMs,
  });
  const summary = await replay.finished;
  if (summary.status !== 'stopped') {
    print(summary);
    process.exit(0);
  }
} catch (err) {
  const error = toLoomwatchError(err);
  stderr(`${error.code}: ${error.message}`);
  const badArguments = (error.code === 'REPLAY_INVALID' && !error.retryable) || error.code === 'MODEL_NOT_FOUND';
  process.exit(badArguments ? 2 : 1);
}
