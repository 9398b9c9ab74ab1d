/**
 * `rollout status|set`: shows or changes which model versions decide live frames and the false-alarm
 * rate they judge at (per deployment and per line). `set` starts from
 * the deployment in force, checks every version it names against the registry and publishes the
 * next revision on the control topic. The registry is never written: `status` shows what the gate
 * promoted there and what the fleet runs, and flags a difference. A rollback is
 * `set --production <previous version>`.
 */
import { STANDARD_ENV_ALIASES, addExamples, collect, commaList, commandName, exitWithRuntimeError, exitWithUsageError, loadConfig, newCommand, parseOrExit } from '@loomwatch/config';
import { CARD_FALSE_ALARM_RATE, FALSE_ALARM_RATE_RANGE, LoomwatchError, nextDeployment, toLoomwatchError, type Deployment, type DeploymentChange } from '@loomwatch/contracts';
import { fixedDeployment } from '@loomwatch/frame-pipeline';
import { defaultModel, productionMarker, readCpuFlags } from '@loomwatch/model-registry';
import { createKafkaClient } from '@loomwatch/kafka';
import { createLogger } from '@loomwatch/observability';
import { z } from 'zod';
import { WorkerConfig } from './config.js';
import {
  checkModel,
  checkVersions,
  currentDeployment,
  describeDeployment,
  describeRateSupport,
  describeServing,
  describeStatus,
  falseAlarmRateChange,
  precisionChange,
  publishDeployment,
  registryProduction,
  resolveChangeVersions,
} from './rollout.js';

const NAME = 'pnpm --silent rollout';
const MODEL_HELP = "the registry model whose deployment to show or change (default: LOOMWATCH_MODEL, else the registry's best-validated production model)";

interface SetOptions {
  model?: string;
  production?: string;
  /** A version, or false for --no-canary. */
  canary?: string | false;
  canaryLines?: string;
  canaryCameras?: string;
  shadow?: string | false;
  shadowSample?: string;
  fabric?: string[];
  dropFabric?: string[];
  falseAlarmRate?: string;
  line?: string;
  precision?: string;
  reason?: string;
  dryRun?: boolean;
}

/** The share of frames a new shadow decides when --shadow-sample is not given. */
const DEFAULT_SHADOW_SAMPLE = 0.1;

const list = commaList(z.string().min(1));

function changeFrom(options: SetOptions): DeploymentChange {
  const change: DeploymentChange = {};
  if (options.production !== undefined) change.production = options.production;
  if (options.canary === false) change.canary = null;
  else if (options.canary !== undefined) change.canary = { version: options.canary, lines: list.parse(options.canaryLines ?? ''), cameras: list.parse(options.canaryCameras ?? '') };
  const sample = options.shadowSample === undefined ? undefined : Number(options.shadowSample);
  if (sample !== undefined && !(sample >= 0 && sample <= 1)) {
    throw new LoomwatchError('DEPLOYMENT_INVALID', `--shadow-sample must be a share between 0 and 1, not ${options.shadowSample}`);
  }
  if (options.shadow === false) change.shadow = null;
  else if (options.shadow !== undefined) change.shadow = { version: options.shadow, sample: sample ?? DEFAULT_SHADOW_SAMPLE };
  else if (sample !== undefined) change.shadowSample = sample;
  const fabrics: Record<string, string | null> = {};
  for (const entry of options.fabric ?? []) {
    const [code, version] = entry.split('=');
    if (code === undefined || code === '' || version === undefined || version === '') {
      throw new LoomwatchError('DEPLOYMENT_INVALID', `--fabric takes CODE=VERSION, e.g. --fabric 05=1.3.0 (got ${entry})`);
    }
    fabrics[code] = version;
  }
  for (const code of options.dropFabric ?? []) fabrics[code] = null;
  if (Object.keys(fabrics).length > 0) change.fabrics = fabrics;
  Object.assign(change, falseAlarmRateChange(options.falseAlarmRate, options.line), precisionChange(options.precision));
  if (options.reason !== undefined) change.reason = options.reason;
  return change;
}

type Request = { command: 'status'; model?: string } | { command: 'set'; options: SetOptions; change: DeploymentChange };

/** The command line: which subcommand, with its options (exits after --help or a mistake). */
function commandLine(argv: readonly string[]): Request | undefined {
  let request: Request | undefined;
  const program = newCommand({
    name: NAME,
    summary: 'Shows or changes which model versions decide live frames, at which precision and false-alarm rate. The registry is never written: a rollout (and a rollback) is a new revision on the control topic, which the workers follow within seconds.',
    examples: [
      'loomwatch rollout status --model draem-aitex',
      'loomwatch rollout set --model draem-aitex --shadow 1.2.0 --shadow-sample 0.25 --reason "try 1.2.0"',
      'loomwatch rollout set --model draem-aitex --shadow patchcore-aitex --precision fp32 --reason "another family beside production, both fp32"',
    ],
    notes: ['Brokers and registry as for the worker. Exit codes: 0 done, 1 runtime failure, 2 bad usage or a deployment the registry refuses.'],
  });
  const status = program
    .command('status')
    .description(
      'Shows what the gate promoted in the registry, what the fleet runs (control topic) at which false-alarm rates, and whether they differ; then every version served (production, canary, shadow, fabrics, of any family), the version that runs for it, its precision and why.',
    )
    .option('--model <name>', MODEL_HELP)
    .action((options: { model?: string }) => {
      request = { command: 'status', ...options };
    });
  addExamples(status, { examples: ['loomwatch rollout status --model draem-aitex'] });
  const set = program
    .command('set')
    .description('Publishes the next deployment revision: the one in force with these changes (versions checked against the registry).')
    .option('--model <name>', MODEL_HELP)
    .option('--production <version>', 'the version that decides every frame no canary or fabric rule claims')
    .option('--canary <version>', 'a version for some lines/cameras')
    .option('--no-canary', 'end the canary')
    .option('--canary-lines <L,...>', 'lines the canary decides')
    .option('--canary-cameras <L:C,...>', 'cameras the canary decides')
    .option('--shadow <version>', 'a version that decides a sample of frames beside production, on verdicts.shadow.v1')
    .option('--no-shadow', 'end the shadow')
    .option('--shadow-sample <share>', `share of frames the shadow decides, 0 to 1 (a new shadow: ${DEFAULT_SHADOW_SAMPLE}); alone, changes the shadow in force`)
    .option('--fabric <code=version>', 'a version for one fabric code (repeatable)', collect)
    .option('--drop-fabric <code>', 'remove a fabric rule (repeatable)', collect)
    .option('--false-alarm-rate <rate|default>', `the share of normal frames a line accepts flagged, ${FALSE_ALARM_RATE_RANGE.min} to ${FALSE_ALARM_RATE_RANGE.max}: each version's card turns it into its threshold; default returns to the card's (${CARD_FALSE_ALARM_RATE})`)
    .option('--line <id>', "with --false-alarm-rate: set (or with default, clear) this line's own rate instead of the deployment's")
    .option('--precision <auto|fp32|int8|default>', "the precision every version runs at, over each worker's inference.precision: fp32 the versions as named, int8 their INT8 variants, auto a variant only on a VNNI CPU; default returns to the workers' setting")
    .option('--reason <text>', 'why, kept with the revision')
    .option('--dry-run', 'print the revision, publish nothing')
    .action((options: SetOptions) => {
      request = { command: 'set', options, change: changeFrom(options) };
    });
  addExamples(set, {
    examples: [
      'loomwatch rollout set --model draem-aitex --canary 1.2.0 --canary-lines line-2 --reason "canary on line 2"',
      'loomwatch rollout set --model draem-aitex --production 1.1.0 --reason "roll back: false alarms"',
      'loomwatch rollout set --model draem-aitex --fabric 05=patchcore-aitex@1.1.0 --dry-run',
      'loomwatch rollout set --false-alarm-rate 0.02 --reason "fewer stops on every line"',
      'loomwatch rollout set --false-alarm-rate 0.01 --line line-2 --reason "line 2 stops for each alarm"',
      'loomwatch rollout set --false-alarm-rate default --line line-2',
    ],
    notes: [
      "A version (--production, --canary, --shadow, --fabric) is one of the model's (1.2.0), another registry model's (patchcore-aitex@1.1.0), or a registry model by name (patchcore-aitex): its production version, fixed when the revision is published.",
    ],
  });
  // A change that cannot be a deployment (a share over 1, a --fabric without a version) is bad usage too.
  parseOrExit(program, argv);
  return request;
}

async function main(request: Request): Promise<number> {
  const config = loadConfig(WorkerConfig, { envAliases: { ...STANDARD_ENV_ALIASES, LOOMWATCH_MODEL: 'model' } });
  const registryRoot = config.inference.registryRoot;
  const model = (request.command === 'status' ? request.model : request.options.model) ?? config.model ?? (await defaultModel(registryRoot)).name;
  const logger = createLogger({ service: 'rollout', level: 'warn' });
  const client = createKafkaClient({ ...config.kafka, clientId: 'loomwatch-rollout' }, logger);

  await checkModel(model, registryRoot);
  const serving = async (deployment: Deployment): Promise<string> =>
    (await describeServing(deployment, registryRoot, config.inference.precision, await readCpuFlags())).map((line) => `${line}\n`).join('');

  const current = await currentDeployment(client, config.worker.controlTopic, model, logger);
  if (request.command === 'status') {
    const promoted = await productionMarker(model, registryRoot);
    process.stdout.write(`${describeStatus(model, promoted, current, config.worker.controlTopic)}\n`);
    const inForce = current ?? (promoted === undefined ? undefined : fixedDeployment(model, promoted.version));
    if (inForce !== undefined) process.stdout.write(await serving(inForce));
    return 0;
  }
  const change = await resolveChangeVersions(request.change, model, registryRoot);
  const next = nextDeployment(model, current, await registryProduction(model, registryRoot), change);
  const notes = describeRateSupport(next, await checkVersions(next, registryRoot)).map((note) => `${note}\n`).join('');
  const dryRun = request.options.dryRun === true;
  if (!dryRun) await publishDeployment(client, config.worker.controlTopic, next);
  process.stdout.write(`${dryRun ? 'would publish' : 'published'}:\n${describeDeployment(next)}\n${notes}${await serving(next)}`);
  return 0;
}

const request = commandLine(process.argv.slice(2));
if (request === undefined) process.exit(0);
const name = `${commandName(NAME)} ${request.command}`;
try {
  process.exitCode = await main(request);
} catch (err) {
  const error = toLoomwatchError(err);
  if (error.code === 'DEPLOYMENT_INVALID' || error.code === 'CONFIG_INVALID') exitWithUsageError(name, error.message);
  exitWithRuntimeError(name, error);
}
