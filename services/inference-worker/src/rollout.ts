import {
  CARD_FALSE_ALARM_RATE,
  Deployment,
  EVENT_TYPES,
  FALSE_ALARM_RATE_RANGE,
  FalseAlarmRate,
  Id,
  LoomwatchError,
  Precision,
  cloudEventHeaders,
  deployedModelRef,
  deploymentKey,
  deploymentVersions,
  encodeMessage,
  toLoomwatchError,
  type DeploymentChange,
  type DeploymentOperatingPoint,
  type ProductionMarker,
} from '@loomwatch/contracts';
import { readVerifiedOnnx } from '@loomwatch/inference';
import { deployedVersion, readModelCard, registryModels, resolveModel, selectPrecision } from '@loomwatch/model-registry';
import { publishControlMessage } from '@loomwatch/frame-pipeline';
import { requireTopics, type KafkaClient } from '@loomwatch/kafka';
import type { Logger } from '@loomwatch/observability';
import { watchDeployments } from './deployments.js';

/**
 * `--false-alarm-rate <rate|default> [--line <id>]` as a change: a share in the deployments' range,
 * or `default` to clear it, for the deployment or one line. DEPLOYMENT_INVALID names the mistake.
 */
export function falseAlarmRateChange(rate: string | undefined, line: string | undefined): Pick<DeploymentChange, 'falseAlarmRate' | 'lineFalseAlarmRates'> {
  if (rate === undefined) {
    if (line !== undefined) throw new LoomwatchError('DEPLOYMENT_INVALID', `--line ${line} needs --false-alarm-rate <rate|default>: it sets one line's rate`);
    return {};
  }
  let value: number | null = null;
  if (rate !== 'default') {
    const parsed = FalseAlarmRate.safeParse(rate.trim() === '' ? NaN : Number(rate));
    if (!parsed.success) {
      throw new LoomwatchError(
        'DEPLOYMENT_INVALID',
        `--false-alarm-rate must be a share between ${FALSE_ALARM_RATE_RANGE.min} and ${FALSE_ALARM_RATE_RANGE.max} (0.02 = 2 % of normal frames flagged), or default for the card's, not ${rate}`,
      );
    }
    value = parsed.data;
  }
  if (line === undefined) return { falseAlarmRate: value };
  if (!Id.safeParse(line).success) throw new LoomwatchError('DEPLOYMENT_INVALID', `--line takes a line id (letters, digits, ".", "_" or "-"), not ${line}`);
  return { lineFalseAlarmRates: { [line]: value } };
}

/** The false-alarm rate every frame gets when no deployment names one. */
export const CARD_DEFAULT_RATE = `false-alarm rate ${CARD_FALSE_ALARM_RATE} (card default)`;

/** The rates in force: the deployment's (or the card default) and each line's own. */
function describeRates(point: DeploymentOperatingPoint | undefined): string[] {
  const rate = point?.falseAlarmRate;
  const lines = [`  ${rate === undefined ? CARD_DEFAULT_RATE : `false-alarm rate ${rate}`}`];
  for (const [line, lineRate] of Object.entries(point?.lines ?? {})) lines.push(`  line ${line}  false-alarm rate ${lineRate}`);
  return lines;
}

/** One line per rule, for people. */
export function describeDeployment(d: Deployment): string {
  const lines = [`${d.model} revision ${d.revision} (${d.updatedAt})${d.reason === undefined ? '' : ` — ${d.reason}`}`, `  production ${d.production}`];
  if (d.canary !== undefined) lines.push(`  canary     ${d.canary.version} on lines [${d.canary.lines.join(', ')}] cameras [${d.canary.cameras.join(', ')}]`);
  if (d.shadow !== undefined) lines.push(`  shadow     ${d.shadow.version} on ${(d.shadow.sample * 100).toFixed(1)} % of frames`);
  for (const [code, version] of Object.entries(d.fabrics)) lines.push(`  fabric ${code}  ${version}`);
  lines.push(`  precision  ${d.precision === undefined ? "each worker's inference.precision" : `${d.precision} (pinned by the deployment)`}`);
  lines.push(...describeRates(d.operatingPoint));
  return lines.join('\n');
}

/** `--precision <auto|fp32|int8|default>` as a change: `default` returns it to each worker's `inference.precision`. */
export function precisionChange(text: string | undefined): Pick<DeploymentChange, 'precision'> {
  if (text === undefined) return {};
  if (text === 'default') return { precision: null };
  const parsed = Precision.safeParse(text);
  if (!parsed.success) throw new LoomwatchError('DEPLOYMENT_INVALID', `--precision takes ${Precision.options.join(', ')} or default (each worker's inference.precision), not ${text}`);
  return { precision: parsed.data };
}

/**
 * The versions a change names, as the deployment of `model` stores them (`deployedVersion`): a bare
 * version is `model`'s, `name@version` any registry model's, a bare name that model's production
 * version. An unknown name or version is DEPLOYMENT_INVALID naming the option and what exists.
 */
export async function resolveChangeVersions(change: DeploymentChange, model: string, registryRoot: string): Promise<DeploymentChange> {
  const resolve = async (spec: string, option: string): Promise<string> => {
    try {
      return await deployedVersion(spec, model, registryRoot);
    } catch (err) {
      const error = toLoomwatchError(err);
      if (error.code !== 'MODEL_NOT_FOUND') throw error;
      throw new LoomwatchError('DEPLOYMENT_INVALID', `${option} ${spec}: ${error.message}`, { cause: err });
    }
  };
  const resolved: DeploymentChange = { ...change };
  if (change.production !== undefined) resolved.production = await resolve(change.production, '--production');
  if (change.canary) resolved.canary = { ...change.canary, version: await resolve(change.canary.version, '--canary') };
  if (change.shadow) resolved.shadow = { ...change.shadow, version: await resolve(change.shadow.version, '--shadow') };
  if (change.fabrics !== undefined) {
    const fabrics: Record<string, string | null> = {};
    for (const [code, spec] of Object.entries(change.fabrics)) fabrics[code] = spec === null ? null : await resolve(spec, `--fabric ${code}=`);
    resolved.fabrics = fabrics;
  }
  return resolved;
}

/** DEPLOYMENT_INVALID naming the registry's models when `model` is none of them. */
export async function checkModel(model: string, registryRoot: string): Promise<void> {
  const models = await registryModels(registryRoot);
  if (!models.includes(model)) throw new LoomwatchError('DEPLOYMENT_INVALID', `--model ${model}: no such model in the registry ${registryRoot}: its models are ${models.join(', ') || 'none'}`);
}

/** Each version a deployment routes frames to, with the rule that routes them. */
function servedVersions(d: Deployment): { rule: string; version: string }[] {
  const served = [{ rule: 'production', version: d.production }];
  if (d.canary !== undefined) served.push({ rule: `canary on ${[...d.canary.lines, ...d.canary.cameras].join(', ')}`, version: d.canary.version });
  if (d.shadow !== undefined && d.shadow.sample > 0) served.push({ rule: `shadow on ${(d.shadow.sample * 100).toFixed(1)} %`, version: d.shadow.version });
  for (const [code, version] of Object.entries(d.fabrics)) served.push({ rule: `fabric ${code}`, version });
  return served;
}

/**
 * What the fleet serves for a deployment: every version asked for (production, canary, shadow,
 * fabrics, of any family) → the version that runs for it and its precision, with the rule's reason.
 * The precision is the deployment's, else `workerPrecision`; `auto` turns on the CPU, so the choice
 * is the one a worker with `cpuFlags` makes (this machine's: each worker's `/metrics`
 * `loomwatch_model_info` says what it runs).
 */
export async function describeServing(deployment: Deployment, registryRoot: string, workerPrecision: Precision, cpuFlags: readonly string[]): Promise<string[]> {
  const precision = deployment.precision ?? workerPrecision;
  const source = deployment.precision === undefined ? "the workers' inference.precision" : 'pinned by the deployment';
  const where = precision === 'auto' ? `, chosen as on this machine's CPU (${cpuFlags.join(' ') || 'no flags seen'})` : '';
  const lines = [`serving (precision ${precision}: ${source}${where}):`];
  for (const { rule, version } of servedVersions(deployment)) {
    const ref = deployedModelRef(deployment.model, version);
    try {
      const chosen = await selectPrecision(ref, { registryRoot, precision, cpuFlags });
      const runs = chosen.version === chosen.requested ? `runs as itself (${chosen.precision})` : `RUNS AS ${chosen.name}@${chosen.version} (${chosen.precision})`;
      lines.push(`  ${rule}: ${ref} ${runs} — ${chosen.reason}`);
    } catch (err) {
      lines.push(`  ${rule}: ${ref} cannot run: ${toLoomwatchError(err).message}`);
    }
  }
  return lines;
}

/** Reads the deployment in force from the control topic (undefined when none was ever published). */
export async function currentDeployment(client: KafkaClient, topic: string, model: string, logger: Logger): Promise<Deployment | undefined> {
  await requireTopics(client.topics, [topic]);
  const watch = await watchDeployments({ client, topic, model, logger, onChange: () => Promise.resolve() });
  await watch.stop();
  return watch.initial;
}

/** The registry's production version of `model`, if it marks one. */
export async function registryProduction(model: string, registryRoot: string): Promise<string | undefined> {
  try {
    return (await readModelCard(await resolveModel(model, registryRoot))).version;
  } catch {
    return undefined;
  }
}

/**
 * Every version the deployment routes to must be in the registry, with a valid card and the ONNX
 * its checksum names. Returns the versions whose card has no operating points (pooled or for any
 * fabric): a false-alarm rate leaves their thresholds as they are.
 */
export async function checkVersions(deployment: Deployment, registryRoot: string): Promise<string[]> {
  const withoutOperatingPoints: string[] = [];
  for (const version of deploymentVersions(deployment)) {
    try {
      const location = await resolveModel(deployedModelRef(deployment.model, version), registryRoot);
      const card = await readModelCard(location);
      await readVerifiedOnnx(location.dir, card);
      const { operatingPoints, fabrics = {} } = card.postprocess;
      if (operatingPoints === undefined && Object.values(fabrics).every((f) => f.operatingPoints === undefined)) withoutOperatingPoints.push(version);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new LoomwatchError('DEPLOYMENT_INVALID', `${deployedModelRef(deployment.model, version)} cannot be deployed: ${reason}`, { cause: err });
    }
  }
  return withoutOperatingPoints;
}

/** A note per deployed version a false-alarm rate does not move (its card has no operating points). */
export function describeRateSupport(deployment: Deployment, withoutOperatingPoints: readonly string[]): string[] {
  if (deployment.operatingPoint === undefined) return [];
  return withoutOperatingPoints.map((version) => `note: ${deployedModelRef(deployment.model, version)} has no operating points in its card: it keeps its own thresholds whatever the rate`);
}

/**
 * Publishes the deployment on the control topic; workers switch when they read it. The registry
 * is left alone: its production marker and promotion history record what the gate promoted
 * (`models/lw promote`), the control topic what the fleet runs — a rollback is a new revision here,
 * not a rewrite of that history.
 */
export async function publishDeployment(client: KafkaClient, topic: string, deployment: Deployment): Promise<void> {
  await publishControlMessage(client, topic, {
    key: deploymentKey(deployment.model),
    value: encodeMessage(Deployment, deployment),
    headers: { ...cloudEventHeaders(EVENT_TYPES.deployment, '/loomwatch/rollout') },
  });
}

/**
 * `rollout status`: what the gate promoted (the registry's marker) and what the fleet runs (the
 * deployment in force), with a line that says so when they differ.
 */
export function describeStatus(model: string, promoted: ProductionMarker | undefined, deployment: Deployment | undefined, controlTopic: string): string {
  const lines = [
    promoted === undefined
      ? `${model}: no version promoted in the registry`
      : `promoted by the gate: ${model}@${promoted.version} (${promoted.promotedAt})${promoted.reason === undefined ? '' : ` — ${promoted.reason}`}`,
  ];
  if (deployment === undefined) {
    lines.push(`the fleet runs: no deployment on ${controlTopic}; workers serve the promoted version`, ...describeRates(undefined));
    return lines.join('\n');
  }
  lines.push(`the fleet runs: ${describeDeployment(deployment)}`);
  if (promoted !== undefined && deployment.production !== promoted.version) {
    lines.push(`DIFFERS: the fleet's production is ${deployment.production}, the gate promoted ${promoted.version} (a rollback or a version not promoted)`);
  }
  return lines.join('\n');
}
