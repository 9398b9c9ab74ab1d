/**
 * pnpm --silent rollout status [--model M]
 * pnpm --silent rollout set [--model M] [--production V] [--canary V --canary-lines L,… --canary-cameras L:C,…] [--no-canary]
 *                           [--shadow V --shadow-sample 0.1] [--no-shadow] [--fabric CODE=V …] [--drop-fabric CODE …]
 *                           [--reason TEXT] [--dry-run]
 * Shows or changes which model versions decide live frames. `set` starts from the deployment in
 * force, checks every version it names against the registry, publishes the next revision on the
 * control topic (workers switch within seconds). The registry is never written: `status` shows what
 * the gate promoted there and what the fleet runs, and flags a difference. Rollback is
 * `set --production <previous version>`. Brokers and registry as for the worker.
 */
import { parseArgs } from 'node:util';
import { STANDARD_ENV_ALIASES, argumentProblem, commaList, loadConfig } from '@loomwatch/config';
import { LoomwatchError, toLoomwatchError } from '@loomwatch/contracts';
import { defaultModel } from '@loomwatch/inference';
import { createKafkaClient } from '@loomwatch/kafka';
import { createLogger } from '@loomwatch/observability';
import { z } from 'zod';
import { WorkerConfig } from './config.js';
import { checkVersions, currentDeployment, describeDeployment, describeStatus, nextDeployment, publishDeployment, registryMarker, registryProduction, type RolloutChange } from './rollout.js';

const USAGE = `usage: rollout status [--model M]
       rollout set [--model M] [--production V] [--canary V --canary-lines L,... --canary-cameras L:C,...] [--no-canary]
                   [--shadow V --shadow-sample S] [--no-shadow] [--fabric CODE=V ...] [--drop-fabric CODE ...] [--reason TEXT] [--dry-run]
V: a version of M (1.2.0), or of another registry model (patchcore-aitex@1.1.0)`;
const EXAMPLE = `examples: pnpm --silent rollout status --model draem-aitex
          pnpm --silent rollout set --model draem-aitex --shadow 1.2.0 --shadow-sample 0.25 --reason "try 1.2.0"`;

const list = commaList(z.string().min(1));

function changeFrom(values: Record<string, string | boolean | string[] | undefined>): RolloutChange {
  const str = (name: string): string | undefined => (typeof values[name] === 'string' ? values[name] : undefined);
  const change: RolloutChange = {};
  const production = str('production');
  if (production !== undefined) change.production = production;
  const canary = str('canary');
  if (values['no-canary'] === true) change.canary = null;
  else if (canary !== undefined) change.canary = { version: canary, lines: list.parse(str('canary-lines') ?? ''), cameras: list.parse(str('canary-cameras') ?? '') };
  const shadow = str('shadow');
  if (values['no-shadow'] === true) change.shadow = null;
  else if (shadow !== undefined) {
    const sample = Number(str('shadow-sample') ?? '0.1');
    if (!(sample >= 0 && sample <= 1)) throw new LoomwatchError('DEPLOYMENT_INVALID', `--shadow-sample must be a share between 0 and 1, not ${str('shadow-sample')}`);
    change.shadow = { version: shadow, sample };
  }
  const fabrics: Record<string, string | null> = {};
  for (const entry of (values['fabric'] as string[] | undefined) ?? []) {
    const [code, version] = entry.split('=');
    if (code === undefined || code === '' || version === undefined || version === '') {
      throw new LoomwatchError('DEPLOYMENT_INVALID', `--fabric takes CODE=VERSION, e.g. --fabric 05=1.3.0 (got ${entry})`);
    }
    fabrics[code] = version;
  }
  for (const code of (values['drop-fabric'] as string[] | undefined) ?? []) fabrics[code] = null;
  if (Object.keys(fabrics).length > 0) change.fabrics = fabrics;
  const reason = str('reason');
  if (reason !== undefined) change.reason = reason;
  return change;
}

/** The parsed command line; bad usage is one line on stderr with the usage, exit 2; --help the usage, exit 0. */
function commandLine() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        model: { type: 'string' },
        production: { type: 'string' },
        canary: { type: 'string' },
        'canary-lines': { type: 'string' },
        'canary-cameras': { type: 'string' },
        'no-canary': { type: 'boolean' },
        shadow: { type: 'string' },
        'shadow-sample': { type: 'string' },
        'no-shadow': { type: 'boolean' },
        fabric: { type: 'string', multiple: true },
        'drop-fabric': { type: 'string', multiple: true },
        reason: { type: 'string' },
        'dry-run': { type: 'boolean' },
      },
    });
  } catch (err) {
    process.stderr.write(`rollout: ${argumentProblem(err)}\n${USAGE}\n`);
    process.exit(2);
  }
}

async function main(): Promise<number> {
  const { values, positionals } = commandLine();
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n${EXAMPLE}\n`);
    return 0;
  }
  const command = positionals[0];
  if (command !== 'status' && command !== 'set') {
    process.stderr.write(`rollout: ${command === undefined ? 'say status or set' : `unknown subcommand "${command}": use status or set`}\n${USAGE}\n`);
    return 2;
  }
  const config = loadConfig(WorkerConfig, { envAliases: { ...STANDARD_ENV_ALIASES, LOOMWATCH_MODEL: 'model' } });
  const registryRoot = config.inference.registryRoot;
  const model = values.model ?? config.model ?? (await defaultModel(registryRoot)).name;
  const logger = createLogger({ service: 'rollout', level: 'warn' });
  const client = createKafkaClient({ ...config.kafka, clientId: 'loomwatch-rollout' }, logger);

  const current = await currentDeployment(client, config.worker.controlTopic, model, logger);
  if (command === 'status') {
    process.stdout.write(`${describeStatus(model, await registryMarker(model, registryRoot), current, config.worker.controlTopic)}\n`);
    return 0;
  }
  const next = nextDeployment(model, current, await registryProduction(model, registryRoot), changeFrom(values));
  await checkVersions(next, registryRoot);
  if (values['dry-run'] === true) {
    process.stdout.write(`would publish:\n${describeDeployment(next)}\n`);
    return 0;
  }
  await publishDeployment(client, config.worker.controlTopic, next);
  process.stdout.write(`published:\n${describeDeployment(next)}\n`);
  return 0;
}

try {
  process.exitCode = await main();
} catch (err) {
  const error = toLoomwatchError(err);
  process.stderr.write(`rollout: ${error.code}: ${error.message}\n`);
  process.exitCode = error.code === 'DEPLOYMENT_INVALID' || error.code === 'CONFIG_INVALID' ? 2 : 1;
}
