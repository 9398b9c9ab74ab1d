/**
 * `pnpm loop`: the operators' review loop on real AITEX frames, end to end, on a Kafka, S3 and
 * OpenID provider of its own (deploy/local/infra.sh with its own state dir and ports, stopped at the
 * end, so `make demo` sees nothing of it). Writes loop.json and loop.md under --out and prints the
 * summary table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { commandName, exitWithUsageError, newCommand, parseOrExit } from '@loomwatch/config';
import { toLoomwatchError } from '@loomwatch/contracts';
import { REPO_ROOT, aitexDir, startInfra } from '@loomwatch/testkit';
import { framesOfSplit } from './frames.js';
import { renderMarkdown } from './report.js';
import { runLoop } from './run-loop.js';

const NAME = commandName('pnpm loop');

/** The loop's own infra instance: apart from the demo's (19xxx) and the tests' (28xxx). */
const LOOP_INSTANCE = { KAFKA_PORT: '38092', KAFKA_CONTROLLER_PORT: '38093', KAFKA_SECURE_PORT: '38094', S3_PORT: '38000', OIDC_PORT: '38080' } as const;

const command = newCommand({
  name: 'pnpm loop',
  summary:
    "The operators' review loop on real AITEX frames: the parent in production, a split's normal frames posted through the gateway by their cameras, every verdict reviewed by otto through the dashboard's API (flagged → false-alarm, ok → ok-confirmed), the retrainer's policy → snapshot → refit → candidate → shadow, the candidate promoted with `rollout set`, held-out figures from `models/lw loop-eval`. Starts and stops a Kafka, S3 and OpenID provider of its own.",
  examples: [
    'pnpm loop',
    'pnpm loop --fabric 01 --per-fabric 6 --false-alarms 1',
    'pnpm loop --parent patchcore-aitex@1.2.0 --split models/splits/aitex-split-v1.json --part validation --fabric 01',
  ],
  notes: [
    'The parent is fit into the scratch registry by models/lw fit-patchcore-fabrics on --split when it is neither there nor in --parent-from (copied from there).',
    'Exit codes: 0 the loop ran to an outcome (a refusal by the gate included; loop.md says which), 1 a step failed, 2 bad usage.',
  ],
})
  .option('--parent <name@version>', 'the production version the reviews correct', 'patchcore-aitex@1.2.0-loop.1')
  .option('--registry <dir>', 'scratch registry: the parent, and the candidate the retrainer writes', '.loomwatch/loop/registry')
  .option('--parent-from <dir>', 'a registry the parent is copied from when the scratch one lacks it, before fitting it', 'models/registry')
  .option('--split <file>', 'split file with the frames to stream (and the parent\'s fit)', 'models/splits/aitex-loop-v1.json')
  .option('--part <list>', 'which list of the split is streamed (its normal frames)', 'stream')
  .option('--fabric <codes>', 'only these fabrics, comma-separated (default: all in the list)')
  .option('--per-fabric <n>', 'at most n frames of each fabric')
  .option('--workers <n>', 'inference worker processes', '2')
  .option('--false-alarms <n>', "retrainer policy.falseAlarms: false alarms on a fabric that ask for a refit", '5')
  .option('--verdict-timeout <s>', 'seconds for every streamed frame to be decided', '900')
  .option('--retrain-timeout <s>', 'seconds for the retrain request(s) to end', '1800')
  .option('--replay-wait <s>', 'after shadow, seconds to wait for the replayed step (the retrainer replays the reviewed frames)', '900')
  .option('--no-promote', 'leave the candidate where the retrainer left it (no promotion, no loop-eval)')
  .option('--out <dir>', 'where loop.json, loop.md and the logs go (default deploy/loop/results/<run>)');
parseOrExit(command);
const values = command.opts<{
  parent: string;
  registry: string;
  parentFrom: string;
  split: string;
  part: string;
  fabric?: string;
  perFabric?: string;
  workers: string;
  falseAlarms: string;
  verdictTimeout: string;
  retrainTimeout: string;
  replayWait: string;
  promote: boolean;
  out?: string;
}>();

function count(option: string, value: string, min: number): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min) exitWithUsageError(NAME, `--${option} ${value}: expected a whole number ≥ ${min}`);
  return parsed;
}

async function main(): Promise<void> {
  const run = `loop-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}`;
  const out = resolve(values.out ?? join(REPO_ROOT, 'deploy/loop/results', run));
  const split = resolve(REPO_ROOT, values.split);
  const registry = resolve(REPO_ROOT, values.registry);
  const fabrics = values.fabric?.split(',').map((f) => f.trim()).filter((f) => f !== '');
  let frames;
  try {
    frames = framesOfSplit(split, values.part, aitexDir(), { ...(fabrics === undefined ? {} : { fabrics }), ...(values.perFabric === undefined ? {} : { perFabric: count('per-fabric', values.perFabric, 1) }) });
  } catch (err) {
    exitWithUsageError(NAME, toLoomwatchError(err).message);
  }
  const settings = {
    workers: count('workers', values.workers, 1),
    falseAlarms: count('false-alarms', values.falseAlarms, 1),
    verdictTimeoutSec: count('verdict-timeout', values.verdictTimeout, 10),
    retrainTimeoutSec: count('retrain-timeout', values.retrainTimeout, 10),
    replayWaitSec: count('replay-wait', values.replayWait, 0),
  };
  mkdirSync(out, { recursive: true });
  const log = (line: string): void => console.log(`loop: ${line}`);
  log(`${run}: ${frames.length} normal frames of ${new Set(frames.map((f) => f.fabric)).size} fabric(s) from "${values.part}" of ${split}; parent ${values.parent}; out ${out}`);

  // Its own instance: the environment's brokers and S3 (a test run's, the demo's) are not used.
  const cache = process.env['LOOMWATCH_CACHE'] ?? join(homedir(), '.cache/loomwatch');
  const env: NodeJS.ProcessEnv = { ...process.env, LOOMWATCH_INFRA: 'local', LOOMWATCH_STATE: join(cache, 'loop-state'), ...LOOP_INSTANCE };
  for (const name of ['KAFKA_BROKERS', 'S3_ENDPOINT', 'LOOMWATCH_INFRA_SOURCE']) delete env[name];
  log(`starting Kafka, S3 and the OpenID provider (deploy/local/infra.sh, state ${env['LOOMWATCH_STATE']}, ports ${Object.values(LOOP_INSTANCE).join(', ')})`);
  const handle = await startInfra(env);
  try {
    const { result } = await runLoop({ run, infra: handle.infra, parent: values.parent, registry, parentFrom: resolve(REPO_ROOT, values.parentFrom), split, frames, ...settings, workDir: out, promote: values.promote, log });
    writeFileSync(join(out, 'loop.json'), `${JSON.stringify(result, null, 2)}\n`);
    const markdown = renderMarkdown(result);
    writeFileSync(join(out, 'loop.md'), markdown);
    console.log(`\n${markdown}`);
    console.log(`written: ${join(out, 'loop.json')}, ${join(out, 'loop.md')}`);
  } finally {
    log('stopping the loop\'s Kafka, S3 and OpenID provider');
    await handle.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`${NAME}: ${toLoomwatchError(err).message}`);
  process.exit(1);
});
