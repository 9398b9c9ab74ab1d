import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CARD_FALSE_ALARM_RATE,
  Deployment,
  EVENT_TYPES,
  FALSE_ALARM_RATE_RANGE,
  FalseAlarmRate,
  Id,
  LoomwatchError,
  ProductionMarker,
  cloudEventHeaders,
  deployedModelRef,
  deploymentKey,
  deploymentVersions,
  encodeMessage,
  type DeploymentOperatingPoint,
} from '@loomwatch/contracts';
import { readModelCard, readVerifiedOnnx, resolveModel } from '@loomwatch/inference';
import { publishControlMessage } from '@loomwatch/frame-pipeline';
import { requireTopics, type KafkaClient } from '@loomwatch/kafka';
import type { Logger } from '@loomwatch/observability';
import { watchDeployments } from './deployments.js';

/** What an operator asks for; anything not mentioned stays as the deployment in force has it. */
export interface RolloutChange {
  production?: string;
  canary?: { version: string; lines: string[]; cameras: string[] } | null;
  shadow?: { version: string; sample: number } | null;
  /** A new sample for the shadow in force. */
  shadowSample?: number;
  /** Fabric code → version; a version of `null` removes the fabric's route. */
  fabrics?: Record<string, string | null>;
  /** The deployment's false-alarm rate; `null` returns it to each card's default. */
  falseAlarmRate?: number | null;
  /** Line → false-alarm rate; `null` removes the line's own rate (it takes the deployment's again). */
  lineFalseAlarmRates?: Record<string, number | null>;
  reason?: string;
}

/**
 * `--false-alarm-rate <rate|default> [--line <id>]` as a change: a share in the deployments' range,
 * or `default` to clear it, for the deployment or one line. DEPLOYMENT_INVALID names the mistake.
 */
export function falseAlarmRateChange(rate: string | undefined, line: string | undefined): Pick<RolloutChange, 'falseAlarmRate' | 'lineFalseAlarmRates'> {
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

/** The operating point in force after the change; undefined when neither the deployment nor a line names a rate. */
function nextOperatingPoint(current: DeploymentOperatingPoint | undefined, change: RolloutChange): DeploymentOperatingPoint | undefined {
  const falseAlarmRate = change.falseAlarmRate === undefined ? current?.falseAlarmRate : (change.falseAlarmRate ?? undefined);
  const lines: Record<string, number> = { ...(current?.lines ?? {}) };
  for (const [line, rate] of Object.entries(change.lineFalseAlarmRates ?? {})) {
    if (rate === null) delete lines[line];
    else lines[line] = rate;
  }
  if (falseAlarmRate === undefined && Object.keys(lines).length === 0) return undefined;
  return { ...(falseAlarmRate === undefined ? {} : { falseAlarmRate }), lines };
}

/** The next revision: the current deployment (or the registry's production version) with the change applied. */
export function nextDeployment(model: string, current: Deployment | undefined, registryProduction: string | undefined, change: RolloutChange, now = new Date()): Deployment {
  const production = change.production ?? current?.production ?? registryProduction;
  if (production === undefined) {
    throw new LoomwatchError('DEPLOYMENT_INVALID', `${model} has no production version yet: pass --production <version>`);
  }
  const operatingPoint = nextOperatingPoint(current?.operatingPoint, change);
  const fabrics: Record<string, string> = { ...(current?.fabrics ?? {}) };
  for (const [code, version] of Object.entries(change.fabrics ?? {})) {
    if (version === null) delete fabrics[code];
    else fabrics[code] = version;
  }
  const canary = change.canary === undefined ? current?.canary : (change.canary ?? undefined);
  let shadow = change.shadow === undefined ? current?.shadow : (change.shadow ?? undefined);
  if (change.shadowSample !== undefined) {
    if (shadow === undefined) throw new LoomwatchError('DEPLOYMENT_INVALID', `${model} has no shadow in force: --shadow-sample needs --shadow <version>`);
    shadow = { ...shadow, sample: change.shadowSample };
  }
  const next = Deployment.parse({
    kind: 'deployment',
    model,
    revision: (current?.revision ?? 0) + 1,
    production,
    ...(canary === undefined ? {} : { canary }),
    ...(shadow === undefined ? {} : { shadow }),
    fabrics,
    ...(operatingPoint === undefined ? {} : { operatingPoint }),
    updatedAt: now.toISOString(),
    ...(change.reason === undefined ? {} : { reason: change.reason }),
  });
  if (next.canary !== undefined && next.canary.lines.length === 0 && next.canary.cameras.length === 0) {
    throw new LoomwatchError('DEPLOYMENT_INVALID', 'a canary needs --canary-lines or --canary-cameras (line:camera): otherwise it decides nothing');
  }
  return next;
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

/** The registry's production marker of `model`, if it has a valid one. */
export async function registryMarker(model: string, registryRoot: string): Promise<ProductionMarker | undefined> {
  try {
    const marker = ProductionMarker.safeParse(JSON.parse(await readFile(join(registryRoot, model, 'production.json'), 'utf8')));
    return marker.success ? marker.data : undefined;
  } catch {
    return undefined;
  }
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
