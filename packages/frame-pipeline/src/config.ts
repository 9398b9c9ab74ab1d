import { hostname } from 'node:os';
import { z } from 'zod';
import { commaList } from '@loomwatch/config';
import { TOPICS } from '@loomwatch/contracts';

/**
 * The `worker` section of the config: the live pipeline's topics, buckets and tuning. The live
 * worker runs by it; a replay reads the same section (its input topic, which topics are live,
 * where plans go, buckets and tuning), so one config file serves both. Unknown keys are refused.
 */
export const PipelineConfig = z
  .strictObject({
    /** Shown in verdicts and dead letters. @defaultValue '<hostname>-<pid>' */
    id: z.string().min(1).max(128).default(`${hostname()}-${process.pid}`),
    /** The live consumer group. @defaultValue 'loomwatch-inference' */
    groupId: z.string().min(1).default('loomwatch-inference'),
    /** @defaultValue 'frames.v1' */
    inputTopic: z.string().min(1).default(TOPICS.frames),
    /** @defaultValue 'verdicts.v1' */
    verdictTopic: z.string().min(1).default(TOPICS.verdicts),
    /** Verdicts of the shadow version, if the deployment has one. @defaultValue 'verdicts.shadow.v1' */
    shadowVerdictTopic: z.string().min(1).default(TOPICS.shadowVerdicts),
    /** Where deployments (which version decides which frames) and replay plans are published. @defaultValue 'control.v1' */
    controlTopic: z.string().min(1).default(TOPICS.control),
    /** @defaultValue 'frames.dlq.v1' */
    deadLetterTopic: z.string().min(1).default(TOPICS.deadLetters),
    /** Buckets frames may come from. @defaultValue ['loomwatch-frames'] */
    allowedBuckets: commaList(z.string().min(1)).default(['loomwatch-frames']),
    /** Where anomaly maps and overlays are written. @defaultValue 'loomwatch-results' */
    outputBucket: z.string().min(1).default('loomwatch-results'),
    /** Frames being fetched, decided or stored at once (prefetch depth). @defaultValue 3 */
    maxInFlight: z.int().positive().default(3),
    /** Frames of one partition in flight at once. @defaultValue 2 */
    maxInFlightPerPartition: z.int().positive().default(2),
    /** @defaultValue 4 */
    partitionsConsumedConcurrently: z.int().positive().default(4),
    /** One info line per committed verdict (frame, line/camera, verdict, score, ms, version); false for quiet logs at high rates. @defaultValue true */
    logFrames: z.boolean().default(true),
    /** @defaultValue 'jpeg' */
    overlayFormat: z.enum(['jpeg', 'png']).default('jpeg'),
    /**
     * When a frame's overlay is rendered. `on-request`: the worker stores only the anomaly map (with
     * what the overlay needs in it) and the verdict names the overlay's key, where the dashboard's
     * object proxy, the inference API or whoever asks first renders and stores it; no overlay work
     * on the frame's path. `per-frame`: rendered with every frame and stored beside the map, for
     * plants whose tools read overlays straight from S3. @defaultValue 'on-request'
     */
    overlays: z.enum(['on-request', 'per-frame']).default('on-request'),
    /** A missing object is retried this many times before it is dead-lettered. @defaultValue 3 */
    missingObjectAttempts: z.int().positive().default(3),
    /** A transient failure is retried this long before the batch is given back uncommitted. @defaultValue 120000 */
    retryForMs: z.int().positive().default(120_000),
    /** @defaultValue 30000 */
    sessionTimeoutMs: z.int().positive().default(30_000),
    /** First SIGTERM waits this long for in-flight frames before closing. @defaultValue 20000 */
    shutdownTimeoutMs: z.int().positive().default(20_000),
  })
  .prefault({});
export type PipelineConfig = z.infer<typeof PipelineConfig>;
