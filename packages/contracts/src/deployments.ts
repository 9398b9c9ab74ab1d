/**
 * The next revision of a deployment (control.v1), pure: what `loomwatch rollout set` and the
 * dashboard's operating-point form publish. Refusals are DEPLOYMENT_INVALID and name the
 * `rollout set` option that fixes them.
 */
import { Deployment, type DeploymentOperatingPoint, type Precision } from './control.js';
import { LoomwatchError } from './errors.js';

/** What someone asks of a deployment; anything not mentioned stays as the deployment in force has it. */
export interface DeploymentChange {
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
  /** The precision every version runs at; `null` returns it to each worker's `inference.precision`. */
  precision?: Precision | null;
  /** Replaces the previous revision's reason; absent, the new revision has none. */
  reason?: string;
}

/** The operating point in force after the change; undefined when neither the deployment nor a line names a rate. */
export function nextOperatingPoint(current: DeploymentOperatingPoint | undefined, change: Pick<DeploymentChange, 'falseAlarmRate' | 'lineFalseAlarmRates'>): DeploymentOperatingPoint | undefined {
  const falseAlarmRate = change.falseAlarmRate === undefined ? current?.falseAlarmRate : (change.falseAlarmRate ?? undefined);
  const lines: Record<string, number> = { ...(current?.lines ?? {}) };
  for (const [line, rate] of Object.entries(change.lineFalseAlarmRates ?? {})) {
    if (rate === null) delete lines[line];
    else lines[line] = rate;
  }
  if (falseAlarmRate === undefined && Object.keys(lines).length === 0) return undefined;
  return { ...(falseAlarmRate === undefined ? {} : { falseAlarmRate }), lines };
}

/**
 * The next revision: the deployment in force (`current`; else the registry's production version
 * `registryProduction`, at revision 1) with the change applied, validated as a `Deployment`.
 */
export function nextDeployment(model: string, current: Deployment | undefined, registryProduction: string | undefined, change: DeploymentChange, now = new Date()): Deployment {
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
  const precision = change.precision === undefined ? current?.precision : (change.precision ?? undefined);
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
    ...(precision === undefined ? {} : { precision }),
    updatedAt: now.toISOString(),
    ...(change.reason === undefined ? {} : { reason: change.reason }),
  });
  if (next.canary !== undefined && next.canary.lines.length === 0 && next.canary.cameras.length === 0) {
    throw new LoomwatchError('DEPLOYMENT_INVALID', 'a canary needs --canary-lines or --canary-cameras (line:camera): otherwise it decides nothing');
  }
  return next;
}
