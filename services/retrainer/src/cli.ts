/**
 * `loomwatch retrain run` (the retrainer service) and `loomwatch retrain request` (a person asks
 * for a refit). Exit codes: 0 done, 1 failure, 2 bad arguments or configuration.
 */
import { userInfo } from 'node:os';
import { STANDARD_ENV_ALIASES, chooseSubcommand, collect, commandName, exitWithRuntimeError, exitWithUsageError, loadConfig, newCommand, parseOrExit } from '@loomwatch/config';
import { Id, LoomwatchError, RetrainRequest, manualRetrainRequest, toLoomwatchError } from '@loomwatch/contracts';
import { createKafkaClient } from '@loomwatch/kafka';
import { createLogger } from '@loomwatch/observability';
import { RetrainConfig } from './config.js';
import { parseRunArgs, runService } from './run.js';
import { publishRetrainRequest } from './service.js';

const NAME = 'pnpm retrain';


async function request(argv: string[]): Promise<void> {
  const name = commandName(`${NAME} request`);
  const command = newCommand({
    name: `${NAME} request`,
    summary: 'Publishes a retrain request (status requested) on control.v1; the retrainer runs it. A request of the same model and fabric still running is replaced.',
    examples: ['loomwatch retrain request --model patchcore-aitex --fabric 01'],
  })
    .requiredOption('--model <name>', 'the deployment whose production version is refit')
    .option('--fabric <code>', "refit on this fabric's reviews (default: every fabric's)")
    .option('--by <who>', 'who asks (default: the user name)')
    .option('--config <file>', 'a YAML config file of the retrainer (kafka, retrain.controlTopic)', collect)
    .option('--set <path=value>', 'one setting, over files and environment (repeatable)', collect);
  parseOrExit(command, argv);
  const options = command.opts<{ model: string; fabric?: string; by?: string; config?: string[]; set?: string[] }>();
  let config: RetrainConfig;
  let made: RetrainRequest;
  try {
    if (!Id.safeParse(options.model).success) throw new LoomwatchError('CONFIG_INVALID', `--model takes a model name (letters, digits, ".", "_" or "-"), not ${options.model}`);
    config = loadConfig(RetrainConfig, { files: options.config ?? [], envAliases: STANDARD_ENV_ALIASES, overrides: options.set ?? [] });
    const asked = RetrainRequest.safeParse(manualRetrainRequest(options.model, options.fabric, options.by ?? userInfo().username, new Date()));
    if (!asked.success) throw new LoomwatchError('CONFIG_INVALID', `not a valid request: ${asked.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
    made = asked.data;
  } catch (err) {
    exitWithUsageError(name, toLoomwatchError(err).message);
  }
  const logger = createLogger({ service: 'retrain-request', level: 'warn' });
  const client = createKafkaClient({ ...config.kafka, clientId: 'loomwatch-retrain-request' }, logger);
  try {
    await publishRetrainRequest(client, config.retrain.controlTopic, made);
    process.stdout.write(`requested ${made.id} on ${config.retrain.controlTopic}: loomwatch retrain run takes it from here\n`);
  } catch (err) {
    exitWithRuntimeError(name, err);
  }
}

const sub = chooseSubcommand({
  name: NAME,
  summary: 'Refits a model from the operators\' reviews: the retrainer service, and requests for it.',
  examples: ['loomwatch retrain run --set policy.model=patchcore-aitex', 'loomwatch retrain request --model patchcore-aitex --fabric 01'],
  notes: [`${NAME} run --help and ${NAME} request --help show each one's options.`],
  subcommands: [
    ['run', 'run retrain requests (snapshot, refit, shadow, replay, guard) as they come, and the policies; --once: the pending ones, then exit'],
    ['request', 'ask for a refit of a model (on one fabric\'s reviews, or all)'],
  ],
});
// Every name the subcommand prints (usage, errors) is `loomwatch retrain <sub>`.
process.env['LOOMWATCH_COMMAND'] = `${commandName(NAME)} ${sub.name}`;
if (sub.name === 'request') await request(sub.argv);
else {
  await runService(parseRunArgs(sub.argv));
}
