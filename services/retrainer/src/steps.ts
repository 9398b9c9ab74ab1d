/**
 * The real work behind each step: `loomwatch dataset snapshot|pull`, the refit and `loomwatch
 * replay` as subprocesses (the data set and replay services have no library entry; the refit is
 * Python), the report to S3, and the shadow and canary as the next deployment revisions on the
 * control topic.
 */
import { join } from 'node:path';
import { Deployment, EVENT_TYPES, LoomwatchError, cloudEventHeaders, deployedModelRef, deploymentKey, encodeMessage, nextDeployment, type DeploymentChange } from '@loomwatch/contracts';
import { publishControlMessage } from '@loomwatch/frame-pipeline';
import type { KafkaClient } from '@loomwatch/kafka';
import { readModelCard, resolveModel } from '@loomwatch/model-registry';
import type { RetrainConfig } from './config.js';
import type { RefitOutcome, RetrainSteps } from './runner.js';

import type { BlobStore } from '@loomwatch/storage';
import { registeredCandidate } from './candidates.js';
import { runCommand, type CommandResult } from './command.js';
import { replayCandidate, type ReplayStepOptions } from './replay-step.js';

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
  /** Where the replay reports go (`retrain.reportBucket`). */
  store: BlobStore;
  /** Told how long each part of the replay step took. */
  timing?: ReplayStepOptions['timing'];
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
  const pull = async (snapshot: string, dir: string): Promise<void> => {
    await dataset(['pull', snapshot, '--out', dir, '--bucket', config.datasetBucket, '--json'], 'loomwatch dataset pull');
  };
  // The deployments this runner published, so a canary right after a shadow extends the shadow's
  // revision even before the control topic has brought it back.
  const published = new Map<string, Deployment>();
  const publishNext = async (model: string, change: DeploymentChange): Promise<number> => {
    const followed = options.deployment(model);
    const mine = published.get(model);
    const current = mine !== undefined && (followed === undefined || mine.revision > followed.revision) ? mine : followed;
    const next = nextDeployment(model, current, await registryProduction(model), change);
    await publishControlMessage(client, config.controlTopic, {
      key: deploymentKey(model),
      value: encodeMessage(Deployment, next),
      headers: { ...cloudEventHeaders(EVENT_TYPES.deployment, '/loomwatch/retrainer') },
    });
    published.set(model, next);
    return next.revision;
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
      const known = await registeredCandidate(config.registryRoot, { parent, snapshot, version });
      if (known !== undefined) return known;
      const dir = join(config.workDir, snapshot);
      await pull(snapshot, dir);
      const bare = version.slice(version.indexOf('@') + 1);
      const result = await runCommand([...config.refitCommand, '--feedback', dir, '--parent', parent, '--version', bare, '--registry', config.registryRoot], signal);
      if (result.code === 0) return { passed: true };
      if (result.code === 1) return { passed: false, reasons: refusalReasons(result.stderr) };
      // Another runner wrote the same version meanwhile: its card says what it is.
      if (result.stderr.includes('[version-exists]')) {
        const written = await registeredCandidate(config.registryRoot, { parent, snapshot, version });
        if (written !== undefined) return written;
      }
      throw new LoomwatchError('REFIT_FAILED', `the refit of ${parent} on snapshot ${snapshot} failed (exit ${result.code}): ${lastLine(result.stderr) || 'no message'}`);
    },
    async shadow(model, version, reason) {
      return publishNext(model, { shadow: { version, sample: config.shadowSample }, reason });
    },
    replay(input) {
      const { replayCommand, feedbackTopic, framesTopic, verdictsTopic, controlTopic, workDir, reportBucket, registryRoot } = config;
      return replayCandidate(input, { replayCommand, feedbackTopic, framesTopic, verdictsTopic, controlTopic, workDir, reportBucket, registryRoot, store: options.store, pull, ...(options.timing === undefined ? {} : { timing: options.timing }), ...(signal === undefined ? {} : { signal }) });
    },
    async canary(model, version, where, reason) {
      return publishNext(model, { canary: { version, lines: where.lines, cameras: where.cameras }, reason });
    },
  };
}
