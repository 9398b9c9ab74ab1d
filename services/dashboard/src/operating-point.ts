/**
 * `POST /api/rollouts/operating-point` (engineers): the false-alarm rate a deployment, or one of its
 * lines, judges at — the same next revision on control.v1 that `loomwatch rollout set
 * --false-alarm-rate <rate|default> [--line <id>]` publishes, built from the deployment in force as
 * the dashboard follows it.
 */
import { z } from 'zod';
import { FalseAlarmRate, Id, nextDeployment, type Deployment } from '@loomwatch/contracts';
import { HttpProblem } from './problem.js';

/** The request body: a rate (null: back to the card's default), for the deployment or one line. `null` alone clears the deployment's rate. */
export const OperatingPointChange = z.union([
  z.null().transform(() => ({ falseAlarmRate: null })),
  z.strictObject({
    falseAlarmRate: FalseAlarmRate.nullable(),
    line: Id.optional(),
    /** The deployment's model; needed only when the control topic has several. */
    model: Id.optional(),
  }),
]);
export type OperatingPointChange = { falseAlarmRate: number | null; line?: string | undefined; model?: string | undefined };

/** The body as a change, or 400 `BODY_INVALID` naming what is wrong. */
export function parseOperatingPointChange(body: unknown): OperatingPointChange {
  const parsed = OperatingPointChange.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues.find((i) => i.code !== 'invalid_union') ?? parsed.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? 'the body' : issue.path.join('.');
  throw new HttpProblem(
    'BODY_INVALID',
    400,
    `${where}: ${issue?.message ?? 'not valid'} — send { "falseAlarmRate": 0.02, "line"?: "line-1" } (a rate from 0.001 to 0.2, or null for the card's default)`,
  );
}

/**
 * The next revision of the deployment in force with the change applied (contracts'
 * `nextDeployment`, as `rollout set` builds it), or 409 `NO_DEPLOYMENT` when none is on the control
 * topic (a rate needs a production version to apply to), 400 when the topic has several models and
 * the body names none.
 */
export function operatingPointRevision(deployments: Readonly<Record<string, Deployment>>, change: OperatingPointChange, by: string, now: Date): Deployment {
  const models = Object.keys(deployments);
  const model = change.model ?? (models.length === 1 ? models[0] : undefined);
  if (models.length === 0) throw new HttpProblem('NO_DEPLOYMENT', 409, 'no deployment on the control topic yet: publish one with `loomwatch rollout set --production <version>` first');
  if (model === undefined) throw new HttpProblem('BODY_INVALID', 400, `the control topic has deployments of ${models.join(', ')}: name one in "model"`);
  const current = deployments[model];
  if (current === undefined) throw new HttpProblem('NO_DEPLOYMENT', 409, `no deployment of ${model} on the control topic: it has ${models.join(', ')}`);
  const rate = change.falseAlarmRate === null ? "the card's default" : String(change.falseAlarmRate);
  return nextDeployment(
    model,
    current,
    undefined,
    {
      ...(change.line === undefined ? { falseAlarmRate: change.falseAlarmRate } : { lineFalseAlarmRates: { [change.line]: change.falseAlarmRate } }),
      reason: `false-alarm rate ${change.line === undefined ? '' : `of ${change.line} `}set to ${rate} by ${by} on the dashboard`,
    },
    now,
  );
}
