/**
 * The real work behind each step: `loomwatch dataset snapshot|pull` and the refit as subprocesses
 * (the data set service has no library entry; the refit is Python), and the shadow as the next
 * deployment revision on the control topic.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Deployment, EVENT_TYPES, LoomwatchError, cloudEventHeaders, deployedModelRef, deploymentKey, encodeMessage, nextDeployment } from '@loomwatch/contracts';
import { publishControlMessage } from '@loomwatch/frame-pipeline';
import type { KafkaClient } from '@loomwatch/kafka';
import { readModelCard, resolveModel } from '@loomwatch/model-registry';
import type { RetrainConfig } from './config.js';
import type { RefitOutcome, RetrainSteps } from './runner.js';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command without a shell; `signal` stops it (SIGTERM). */
export function runCommand(argv: readonly string[], signal?: AbortSignal): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new LoomwatchError('CONFIG_INVALID', 'an empty command line'));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(signal === undefined ? {} : { signal }) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

/** The gate's reasons from the refit's `gate refused: a; b — not to be promoted` line. */
export function refusalReasons(stderr: string): string[] {
  const line = stderr.split('\n').find((l) => l.startsWith('gate refused:'));
  if (line === undefined) return [lastLine(stderr) || 'the gate refused the candidate'];
  return line
    .slice('gate refused:'.length)
    .replace(/\s+—\s+not to be promoted.*$/, '')
    .split(';')
    .map((reason) => reason.trim())
    .filter((reason) => reason !== '');
}

/** The JSON object a `--json` command printed last. */
function lastJson(result: CommandResult, what: string): Record<string, unknown> {
  try {
    return JSON.parse(lastLine(result.stdout)) as Record<string, unknown>;
  } catch (err) {
    throw new LoomwatchError('RETRAIN_INVALID', `${what} printed no JSON outcome: ${lastLine(result.stderr) || lastLine(result.stdout)}`, { cause: err });
  }
}

export interface RealStepsOptions {
  config: RetrainConfig['retrain'];
  client: KafkaClient;
  /** The latest deployment of a model on the control topic, as the runner follows it. */
  deployment: (model: string) => Deployment | undefined;
  signal?: AbortSignal;
}

export function realSteps(options: RealStepsOptions): RetrainSteps {
  const { config, client, signal } = options;
  const dataset = async (args: string[], what: string): Promise<Record<string, unknown>> => {
    const result = await runCommand([...config.datasetCommand, ...args], signal);
    if (result.code !== 0) throw new LoomwatchError('RETRAIN_INVALID', `${what} failed (exit ${result.code}): ${lastLine(result.stderr)}`);
    return lastJson(result, what);
  };
  const registryProduction = async (model: string): Promise<string | undefined> => {
    try {
      return (await readModelCard(await resolveModel(model, config.registryRoot))).version;
    } catch {
      return undefined;
    }
  };
  return {
    async snapshot() {
      const out = await dataset(['snapshot', '--topic', config.feedbackTopic, '--bucket', config.datasetBucket, '--json'], 'loomwatch dataset snapshot');
      if (typeof out['id'] !== 'string') throw new LoomwatchError('RETRAIN_INVALID', 'loomwatch dataset snapshot printed no snapshot id');
      return out['id'];
    },
    async parent(model) {
      const production = options.deployment(model)?.production ?? (await registryProduction(model));
      if (production === undefined) throw new LoomwatchError('RETRAIN_INVALID', `${model} has no production version (no deployment on ${config.controlTopic}, no production.json in ${config.registryRoot}): promote one first`);
      return deployedModelRef(model, production);
    },
    async refit({ snapshot, parent, version }): Promise<RefitOutcome> {
      const dir = join(config.workDir, snapshot);
      await dataset(['pull', snapshot, '--out', dir, '--bucket', config.datasetBucket, '--json'], 'loomwatch dataset pull');
      const bare = version.slice(version.indexOf('@') + 1);
      const result = await runCommand([...config.refitCommand, '--feedback', dir, '--parent', parent, '--version', bare, '--registry', config.registryRoot], signal);
      if (result.code === 0) return { passed: true };
      if (result.code === 1) return { passed: false, reasons: refusalReasons(result.stderr) };
      throw new LoomwatchError('REFIT_FAILED', `the refit of ${parent} on snapshot ${snapshot} failed (exit ${result.code}): ${lastLine(result.stderr) || 'no message'}`);
    },
    async shadow(model, version, reason) {
      const next = nextDeployment(model, options.deployment(model), await registryProduction(model), { shadow: { version, sample: config.shadowSample }, reason });
      await publishControlMessage(client, config.controlTopic, {
        key: deploymentKey(model),
        value: encodeMessage(Deployment, next),
        headers: { ...cloudEventHeaders(EVENT_TYPES.deployment, '/loomwatch/retrainer') },
      });
      return next.revision;
    },
  };
}
