/**
 * Alert rules as data, validated by zod when the config is loaded (and again on SIGHUP).
 *
 * Glossary: a rule's *subject* is what it watches — one camera (`line:camera`) or a whole line
 * (`line:*`); its *condition* is true or false for a subject at a moment; an *episode* is one
 * open → resolved alert for one subject, named by its dedup key `rule:line:camera`.
 */
import { z } from 'zod';
import { DriftCheck, Id, Severity } from '@loomwatch/contracts';

/** Which lines and cameras a rule applies to; an empty or absent list means all. */
const Match = z
  .strictObject({
    lines: z.array(Id).default([]),
    cameras: z.array(Id).default([]),
  })
  .prefault({});

const common = {
  /** Names the rule in alerts and dedup keys. */
  name: Id.max(64),
  match: Match,
  /** @defaultValue 'warning' */
  severity: Severity.default('warning'),
  /** After an episode resolves, the same subject opens no new one for this long. @defaultValue 60000 */
  cooldownMs: z.int().nonnegative().default(60_000),
};

/** A defect verdict whose normalised score or largest region crosses a level. */
const LevelRule = z
  .strictObject({
    ...common,
    kind: z.literal('level'),
    /** Alert when a defect verdict's normalizedScore is at least this. */
    minNormalizedScore: z.number().min(0).max(1).optional(),
    /** Alert when a defect verdict's largest region covers at least this many pixels. */
    minRegionArea: z.int().positive().optional(),
    /** The episode resolves after this long with no further crossing. @defaultValue 300000 */
    quietMs: z.int().positive().default(300_000),
  })
  .refine((rule) => rule.minNormalizedScore !== undefined || rule.minRegionArea !== undefined, {
    message: 'set minNormalizedScore, minRegionArea or both',
  });

/** N defect verdicts within the last M frames of one camera: escalate, the line should stop. */
const BurstRule = z
  .strictObject({
    ...common,
    kind: z.literal('burst'),
    severity: Severity.default('critical'),
    /** N. */
    defects: z.int().positive(),
    /** M. */
    frames: z.int().positive().max(1000),
    /** Resolves once the last M frames hold at most this many defects. @defaultValue 0 */
    resolveAtOrBelow: z.int().nonnegative().default(0),
    /** @defaultValue true */
    stopLine: z.boolean().default(true),
  })
  .refine((rule) => rule.defects <= rule.frames, { message: 'defects must not exceed frames', path: ['defects'] })
  .refine((rule) => rule.resolveAtOrBelow < rule.defects, { message: 'must be below defects', path: ['resolveAtOrBelow'] });

/** Defect verdicts as a fraction of all verdicts within a time window. */
const DefectRateRule = z
  .strictObject({
    ...common,
    kind: z.literal('defect-rate'),
    /** @defaultValue 'camera' */
    scope: z.enum(['camera', 'line']).default('camera'),
    windowMs: z.int().positive(),
    /** Opens when the rate is at least this. */
    maxRate: z.number().min(0).max(1),
    /** Resolves when the rate is below this. @defaultValue maxRate */
    resolveRate: z.number().min(0).max(1).optional(),
    /** No judgement on fewer verdicts than this in the window. @defaultValue 10 */
    minFrames: z.int().positive().default(10),
  })
  .refine((rule) => rule.resolveRate === undefined || rule.resolveRate <= rule.maxRate, {
    message: 'must not exceed maxRate',
    path: ['resolveRate'],
  });

/** Frames still arrive for a camera but no verdict has come for `afterMs`: the pipeline is stuck. */
const StaleVerdictsRule = z.strictObject({
  ...common,
  kind: z.literal('stale-verdicts'),
  afterMs: z.int().positive(),
});

const Time = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM');
const Weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);

/** A production shift: on these days, from `start` to `end` (end before start crosses midnight). */
const Shift = z.strictObject({
  days: z.array(Weekday).min(1).default(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']),
  start: Time,
  end: Time,
  /** Local time = UTC + this. @defaultValue 0 */
  utcOffsetMinutes: z.int().min(-14 * 60).max(14 * 60).default(0),
});
type Shift = z.infer<typeof Shift>;

/** No frame at all from a line (or camera) for `afterMs` while the schedule says it produces. */
const NoFramesRule = z
  .strictObject({
    ...common,
    kind: z.literal('no-frames'),
    /** @defaultValue 'line' */
    scope: z.enum(['camera', 'line']).default('line'),
    afterMs: z.int().positive(),
    schedule: z.array(Shift).min(1),
  })
  .refine((rule) => rule.match.lines.length > 0, {
    message: 'list the lines to watch: a line that never sent a frame is otherwise unknown',
    path: ['match', 'lines'],
  })
  .refine((rule) => rule.scope === 'line' || rule.match.cameras.length > 0, {
    message: 'a camera-scoped no-frames rule needs the cameras listed',
    path: ['match', 'cameras'],
  });

/** Dead letters within a time window: the pipeline is failing, not the fabric. */
const DeadLetterRateRule = z.strictObject({
  ...common,
  kind: z.literal('dead-letter-rate'),
  /** @defaultValue 'line' */
  scope: z.enum(['camera', 'line']).default('line'),
  windowMs: z.int().positive(),
  /** Opens when the window holds at least this many dead letters. */
  maxCount: z.int().positive(),
});

/** The drift monitor judged a camera's recent frames unlike the model's reference (drift.v1). */
const DriftRule = z.strictObject({
  ...common,
  kind: z.literal('drift'),
  /** The checks that open an alert when they trip. @defaultValue every check */
  checks: z.array(DriftCheck).min(1).default(['input-psi', 'input-ks', 'input-contrast', 'score-psi', 'defect-rate']),
});

/**
 * The precision of a subject's defect verdicts, as operators reviewed them (`feedback.v1`), fell
 * below a floor: too many false alarms. Judged over the verdicts decided within `windowMs`, per
 * model version (and fabric, with `per`), on groups with at least `minReviews` reviewed flagged
 * frames. Opens when the 95 % Clopper–Pearson interval lies wholly below the floor (its upper
 * bound is under it: the reviews leave no doubt, rather than a handful of false alarms in a row);
 * resolves when the point estimate is back at or above the floor, or too few reviews remain.
 */
const PrecisionRule = z.strictObject({
  ...common,
  kind: z.literal('precision'),
  /** @defaultValue 'line' */
  scope: z.enum(['camera', 'line']).default('line'),
  /** The lowest acceptable precision (confirmed / reviewed defect verdicts). */
  floor: z.number().gt(0).max(1),
  /** No judgement on a group with fewer reviewed flagged frames than this. @defaultValue 20 */
  minReviews: z.int().positive().default(20),
  /** Verdicts decided within this window count. @defaultValue 604800000 (7 days) */
  windowMs: z.int().positive().default(7 * 24 * 3600_000),
  /** What else splits a subject into groups judged apart. @defaultValue ['model'] */
  per: z.array(z.enum(['fabric', 'model'])).default(['model']),
});

export const Rule = z.discriminatedUnion('kind', [
  LevelRule,
  BurstRule,
  DefectRateRule,
  StaleVerdictsRule,
  NoFramesRule,
  DeadLetterRateRule,
  DriftRule,
  PrecisionRule,
]);
export type Rule = z.infer<typeof Rule>;
export type RuleOf<K extends Rule['kind']> = Extract<Rule, { kind: K }>;

export const Rules = z.array(Rule).refine((rules) => new Set(rules.map((rule) => rule.name)).size === rules.length, {
  message: 'rule names must be unique',
});
export type Rules = z.infer<typeof Rules>;

export function ruleMatches(rule: Rule, lineId: string, cameraId: string | undefined): boolean {
  const { lines, cameras } = rule.match;
  if (lines.length > 0 && !lines.includes(lineId)) return false;
  if (cameraId !== undefined && cameras.length > 0 && !cameras.includes(cameraId)) return false;
  return true;
}

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

function minutesOf(time: string): number {
  const [hours = 0, minutes = 0] = time.split(':').map(Number);
  return hours * 60 + minutes;
}

/** Whether a shift covers the instant `nowMs`. */
function inShift(shift: Shift, nowMs: number): boolean {
  const local = new Date(nowMs + shift.utcOffsetMinutes * 60_000);
  const minute = local.getUTCHours() * 60 + local.getUTCMinutes();
  const start = minutesOf(shift.start);
  const end = minutesOf(shift.end);
  const today = WEEKDAYS[local.getUTCDay()] ?? 'sun';
  const yesterday = WEEKDAYS[(local.getUTCDay() + 6) % 7] ?? 'sat';
  if (start <= end) return shift.days.includes(today) && minute >= start && minute < end;
  // Crosses midnight: the evening part belongs to today's shift, the morning part to yesterday's.
  return (shift.days.includes(today) && minute >= start) || (shift.days.includes(yesterday) && minute < end);
}

export function inSchedule(schedule: readonly Shift[], nowMs: number): boolean {
  return schedule.some((shift) => inShift(shift, nowMs));
}
