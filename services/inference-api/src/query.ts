import { z } from 'zod';
import { FALSE_ALARM_RATE_RANGE, FalseAlarmRate, describeIssues } from '@loomwatch/contracts';
import { MODEL_REF, MODEL_REF_HINT } from '@loomwatch/model-registry';
import { HttpProblem } from './problem.js';

/**
 * `?model=`: a registry model reference, `name` or `name@version` — never a path on the server: the
 * registry's one rule (`MODEL_REF`: a name of lower-case letters, digits and `-`, a semantic
 * version), so no `.`, `..`, `/`, `\` or `%` reaches the registry's file lookups.
 */
export const ModelParam = z
  .string()
  .regex(MODEL_REF, MODEL_REF_HINT)
  .meta({ description: "A registry model: `name` (its production version) or `name@version`, e.g. `draem-aitex@1.1.0`. Default: the server's model." });

/** `?fabric=`: the fabric code, as the gateways send it in `product.fabricCode`. */
export const FabricParam = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[A-Za-z0-9._-]+$/, 'a fabric code: 1–32 letters, digits, ".", "_" or "-"')
  .meta({
    description:
      "The image's fabric code (as `FrameEvent.product.fabricCode`, e.g. `05`): the model's threshold for that fabric applies when its card has one (the answer's `calibratedFabric`), its pooled threshold otherwise. Default: none, the pooled threshold.",
  });

/** `?falseAlarmRate=`: the operating point, as a deployment on control.v1 picks it (0.001–0.2). */
export const FalseAlarmRateParam = z
  .string()
  .regex(/^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/, `a number from ${FALSE_ALARM_RATE_RANGE.min} to ${FALSE_ALARM_RATE_RANGE.max}, such as 0.02`)
  .transform(Number)
  .pipe(FalseAlarmRate)
  .meta({
    description: `The false-alarm rate to judge the image at (${FALSE_ALARM_RATE_RANGE.min}–${FALSE_ALARM_RATE_RANGE.max}), as a deployment's \`operatingPoint\` picks it for a line: the threshold of that rate on the card's operating points (of the fabric's calibration, or the pooled one) applies; outside the card's grid, its nearest end. The answer's \`falseAlarmRate\` is the rate that applied. Default: the card's (0.05). A card without operating points has one threshold: the parameter changes nothing, and the answer has no \`falseAlarmRate\`.`,
  });

/** The query of `POST /v1/infer`. Strict: a misspelt parameter (`fabricCode`) is refused, not ignored. */
export const InferQuery = z.strictObject({
  model: ModelParam.optional(),
  fabric: FabricParam.optional(),
  falseAlarmRate: FalseAlarmRateParam.optional(),
});
export type InferQuery = z.infer<typeof InferQuery>;

/** Names people reach for, and the parameter they mean. */
const SPELLINGS: Record<string, string> = { fabricCode: 'fabric', fabric_code: 'fabric', false_alarm_rate: 'falseAlarmRate', falsealarmrate: 'falseAlarmRate', rate: 'falseAlarmRate' };

/**
 * The query of `POST /v1/infer`, checked before its body is read: a bad (a model reference that is
 * no registry `name[@version]`), repeated or unknown parameter is `QUERY_INVALID` (400), naming it.
 */
export function parseInferQuery(params: URLSearchParams): InferQuery {
  const raw: Record<string, string> = {};
  for (const [name, value] of params) {
    if (Object.hasOwn(raw, name)) throw new HttpProblem('QUERY_INVALID', 400, `${name}: given more than once; give it once`);
    raw[name] = value;
  }
  const parsed = InferQuery.safeParse(raw);
  if (parsed.success) return parsed.data;
  const unknown = parsed.error.issues.flatMap((issue) => (issue.code === 'unrecognized_keys' ? issue.keys : []));
  const hints = unknown.map((name) => (Object.hasOwn(SPELLINGS, name) ? `${name}: unknown parameter, use ${SPELLINGS[name]}` : `${name}: unknown parameter`));
  const others = describeIssues(parsed.error.issues.filter((issue) => issue.code !== 'unrecognized_keys'));
  const known = Object.keys(InferQuery.shape).join(', ');
  throw new HttpProblem('QUERY_INVALID', 400, `bad query — ${[...hints, ...(others === '' ? [] : [others])].join('; ')} (the parameters are ${known})`);
}
