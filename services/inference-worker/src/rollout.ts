import {
  CARD_FALSE_ALARM_RATE,
  Deployment,
  EVENT_TYPES,
  FALSE_ALARM_RATE_RANGE,
  FalseAlarmRate,
  Id,
  LoomwatchError,
  cloudEventHeaders,
  deployedModelRef,
  deploymentKey,
  deploymentVersions,
  encodeMessage,
  type DeploymentChange,
  type DeploymentOperatingPoint,
  type ProductionMarker,
} from '@loomwatch/contracts';
import { readVerifiedOnnx } from '@loomwatch/inference';
import { readModelCard, resolveModel } from '@loomwatch/model-registry';
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
  lines.push(...describeRates(d.operatingPoint));
  return lines.join('\n');
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
