import { z } from 'zod';
import { ModelVersion } from './control.js';
import { Id, Sha256, Timestamp } from './primitives.js';

/** A Kafka topic name as the broker accepts it. */
export const KafkaTopicName = z
  .string()
  .min(1)
  .max(249)
  .regex(/^[A-Za-z0-9._-]+$/, 'a Kafka topic name (letters, digits, ".", "_" or "-")');

/** Offsets `[start, end)` of one input partition that a replay covers. */
export const ReplayPartition = z
  .strictObject({
    partition: z.int().nonnegative(),
    /** The first offset replayed. */
    start: z.int().nonnegative(),
    /** The first offset not replayed; `start === end` means nothing to do on this partition. */
    end: z.int().nonnegative(),
  })
  .refine((p) => p.end >= p.start, 'end must not be before start');
export type ReplayPartition = z.infer<typeof ReplayPartition>;

/** The most frame ids a replay selects: the plan, ids and all, must fit one control message. */
export const MAX_REPLAY_FRAME_IDS = 20_000;

/** Which frames of the range are decided again; empty lists select every line / camera. */
export const ReplaySelection = z.strictObject({
  lines: z.array(Id).max(256),
  /** `camera` (any line) or `line:camera`. */
  cameras: z.array(z.string().regex(/^(?:[A-Za-z0-9._-]+:)?[A-Za-z0-9._-]+$/, 'camera or line:camera')).max(1024),
  /**
   * Only the frames whose FrameEvent `frameId` is one of these (`--frame-ids`, e.g. the reviewed
   * frames), sorted and distinct; absent: every frame of the lines and cameras.
   */
  frameIds: z.array(Id).min(1).max(MAX_REPLAY_FRAME_IDS).optional(),
});
export type ReplaySelection = z.infer<typeof ReplaySelection>;

/**
 * A replay's fixed plan: which offsets of which topic are decided again by which model version,
 * and where the verdicts go. Computed on the replay's first run and published on `control.v1`
 * (key `replay:<id>`, compacted) so that every later run of the same replay continues the same
 * plan instead of resolving `--from` / `--to` again against a topic that has moved on.
 */
export const ReplayPlan = z.strictObject({
  kind: z.literal('replay-plan'),
  id: Id,
  inputTopic: KafkaTopicName,
  partitions: z.array(ReplayPartition).min(1).max(10_000),
  /** `--from` as given (ISO time, `earliest` or `p:offset,…`), and the time it meant if it was one. */
  from: z.strictObject({ spec: z.string().min(1).max(20_000), time: Timestamp.optional() }),
  /** `--to` as given (ISO time or `now`), and the time it was resolved at. */
  to: z.strictObject({ spec: z.string().min(1).max(64), time: Timestamp }),
  selection: ReplaySelection,
  /** The version that decides the frames; `sha256` of its ONNX guards against a changed version directory. */
  model: z.strictObject({ name: Id, version: ModelVersion, sha256: Sha256 }),
  targetTopic: KafkaTopicName,
  createdAt: Timestamp,
});
export type ReplayPlan = z.infer<typeof ReplayPlan>;

export function replayPlanKey(id: string): string {
  return `replay:${id}`;
}
