import { createHash } from 'node:crypto';
import {
  EVENT_TYPES,
  FrameEvent,
  LoomwatchError,
  TOPICS,
  Verdict,
  cloudEventHeaders,
  decodeMessage,
  encodeMessage,
  messageKey,
  toLoomwatchError,
  type ObjectRef,
} from '@loomwatch/contracts';
import type { Decider, Decision } from '@loomwatch/inference';
import { overlayRecipe, withOverlayRecipe } from '@loomwatch/overlay';
import type { InboundRecord, OutboundMessage, RecordHandler } from '@loomwatch/kafka';
import type { BlobStore } from '@loomwatch/storage';
import type { FrameRouter } from './model-pool.js';
import type { Route } from './routing.js';

interface FrameRecordHandlerConfig {
  /** Shown in the verdicts. */
  workerId: string;
  /** Buckets frames may be read from; anything else is dead-lettered. */
  allowedBuckets: readonly string[];
  /**
   * Where anomaly maps and overlays go. Each map carries its overlay's recipe; the overlay itself
   * is stored only when the decider rendered it (`worker.overlays: per-frame`), and is otherwise
   * rendered at the same key on first request (`@loomwatch/overlay`).
   */
  outputBucket: string;
  /** Where the verdicts go. */
  verdictTopic: string;
  /** Where shadow versions' verdicts go. @defaultValue 'verdicts.shadow.v1' */
  shadowVerdictTopic?: string;
  /** CloudEvents source of the verdicts. */
  source: string;
  /** A missing object is retried this many attempts (the upload may be racing us), then dead-lettered. @defaultValue 3 */
  missingObjectAttempts?: number;
}

interface FrameRecordHandlerDeps {
  store: BlobStore;
  /** Picks the version (and maybe a shadow) for each frame. */
  router: FrameRouter;
  now?: () => Date;
  /** Each verdict published (live or shadow), for metrics. */
  onDecided?: (verdict: Verdict, route: Route & { shadowed: boolean }) => void;
  /** A shadow version failed on a frame: the live verdict is published without it. */
  onShadowFailed?: (frame: FrameEvent, error: LoomwatchError) => void;
}

/**
 * Output keys derive from the frame id and model version: a retry overwrites, never duplicates.
 * The overlay's is beside the map's (`maps/…png` ↔ `overlays/…jpg|png`), as the on-request
 * renderer finds the map of an overlay (`mapOfOverlay` of `@loomwatch/overlay`).
 */
export function outputKeys(frame: FrameEvent, model: { name: string; version: string }, overlayExtension: string): {
  anomalyMap: string;
  overlay: string;
} {
  const base = `${model.name}/${model.version}/${frame.lineId}/${frame.cameraId}/${frame.frameId}`;
  return { anomalyMap: `maps/${base}.png`, overlay: `overlays/${base}.${overlayExtension}` };
}

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

async function fetchImage(
  store: BlobStore,
  frame: FrameEvent,
  attempt: number,
  missingObjectAttempts: number,
): Promise<Buffer> {
  const ref: ObjectRef = { bucket: frame.image.bucket, key: frame.image.key };
  try {
    return await store.get(ref);
  } catch (err) {
    if (err instanceof LoomwatchError && err.code === 'OBJECT_NOT_FOUND') {
      const final = attempt >= missingObjectAttempts;
      throw new LoomwatchError(
        'OBJECT_NOT_FOUND',
        `frame image s3://${ref.bucket}/${ref.key} does not exist${final ? ` after ${attempt} attempts: check the gateway uploaded it` : ''}`,
        { cause: err, retryable: !final },
      );
    }
    throw err;
  }
}

function checkImage(frame: FrameEvent, body: Buffer): void {
  if (body.length === 0) {
    throw new LoomwatchError('IMAGE_EMPTY', `s3://${frame.image.bucket}/${frame.image.key} is empty (0 bytes): the camera or the gateway uploaded no data`);
  }
  if (body.length !== frame.image.bytes || sha256(body) !== frame.image.sha256) {
    throw new LoomwatchError(
      'IMAGE_CHECKSUM_MISMATCH',
      `s3://${frame.image.bucket}/${frame.image.key} is ${body.length} bytes with a different sha256 than the frame event says: the object was overwritten or corrupted`,
    );
  }
}

function checkDimensions(frame: FrameEvent, decision: Decision): void {
  if (decision.width !== frame.image.width || decision.height !== frame.image.height) {
    throw new LoomwatchError(
      'IMAGE_DIMENSIONS_MISMATCH',
      `image is ${decision.width}×${decision.height} but the frame event says ${frame.image.width}×${frame.image.height}`,
    );
  }
}

/**
 * The exactly-once processor's `RecordHandler` for frame records: fetch the image, check it, let
 * the routed version decide, store its pictures, and return the verdict message (plus the shadow
 * version's). Anything thrown that is not retryable ends in a dead letter (`dead-letters.ts`).
 */
export function createFrameRecordHandler(config: FrameRecordHandlerConfig, deps: FrameRecordHandlerDeps): RecordHandler {
  const now = deps.now ?? (() => new Date());
  const missingObjectAttempts = config.missingObjectAttempts ?? 3;
  const allowed = new Set(config.allowedBuckets);
  const shadowTopic = config.shadowVerdictTopic ?? TOPICS.shadowVerdicts;

  /** One version's verdict on the frame at the route's false-alarm rate, its pictures stored under that version's keys. */
  async function decideWith(decider: Decider, frame: FrameEvent, image: Buffer, fetchMs: number, falseAlarmRate: number | undefined): Promise<Verdict> {
    const started = performance.now();
    const decision = await decider.decide(image, frame.product?.fabricCode, falseAlarmRate);
    checkDimensions(frame, decision);
    const decidedAt = performance.now();
    const model = decider.model;
    const keys = outputKeys(frame, model, decision.overlayStyle.format === 'jpeg' ? 'jpg' : 'png');
    const recipe = overlayRecipe(decision.overlayStyle, { bucket: frame.image.bucket, key: frame.image.key, sha256: frame.image.sha256 }, decision.regions);
    const overlay = decision.overlay;
    await Promise.all([
      deps.store.put({ bucket: config.outputBucket, key: keys.anomalyMap }, withOverlayRecipe(decision.anomalyMapPng, recipe), 'image/png'),
      overlay === undefined ? undefined : deps.store.put({ bucket: config.outputBucket, key: keys.overlay }, overlay.body, overlay.contentType),
    ]);
    const storedAt = performance.now();
    return {
      frameId: frame.frameId,
      lineId: frame.lineId,
      cameraId: frame.cameraId,
      seq: frame.seq,
      capturedAt: frame.capturedAt,
      decidedAt: now().toISOString(),
      verdict: decision.verdict,
      score: decision.score,
      normalizedScore: decision.normalizedScore,
      threshold: decision.threshold,
      ...(frame.product?.fabricCode === undefined ? {} : { fabricCode: frame.product.fabricCode }),
      ...(decision.calibratedFabric === undefined ? {} : { calibratedFabric: decision.calibratedFabric }),
      ...(decision.falseAlarmRate === undefined ? {} : { falseAlarmRate: decision.falseAlarmRate }),
      regions: decision.regions.slice(0, 256),
      model,
      anomalyMap: { bucket: config.outputBucket, key: keys.anomalyMap },
      overlay: { bucket: config.outputBucket, key: keys.overlay },
      inputStats: decision.inputStats,
      timings: {
        fetchMs,
        ...decision.timings,
        storeMs: storedAt - decidedAt,
        totalMs: fetchMs + (storedAt - started),
      },
      workerId: config.workerId,
    };
  }

  function message(topic: string, verdict: Verdict, record: InboundRecord): OutboundMessage {
    return {
      topic,
      key: messageKey(verdict.lineId, verdict.cameraId),
      value: encodeMessage(Verdict, verdict),
      headers: {
        ...cloudEventHeaders(EVENT_TYPES.verdict, config.source, { parentTraceparent: record.headers['traceparent'] }),
      },
    };
  }

  return async function handleFrame(record: InboundRecord, attempt: number): Promise<OutboundMessage[]> {
    const started = performance.now();
    const frame = decodeMessage(FrameEvent, record.value);
    if (!allowed.has(frame.image.bucket)) {
      throw new LoomwatchError(
        'BUCKET_NOT_ALLOWED',
        `bucket ${frame.image.bucket} is not in the worker's allow-list (${[...allowed].join(', ')}): add it to worker.allowedBuckets if it is legitimate`,
      );
    }
    const image = await fetchImage(deps.store, frame, attempt, missingObjectAttempts);
    const fetchMs = performance.now() - started;
    checkImage(frame, image);

    const lease = deps.router.acquire(frame);
    try {
      const verdict = await decideWith(lease.primary, frame, image, fetchMs, lease.route.falseAlarmRate);
      deps.onDecided?.(verdict, { ...lease.route, shadowed: false });
      const outputs = [message(config.verdictTopic, verdict, record)];
      if (lease.shadow !== undefined) {
        try {
          const shadow = await decideWith(lease.shadow, frame, image, fetchMs, lease.route.falseAlarmRate);
          deps.onDecided?.(shadow, { ...lease.route, shadowed: true });
          outputs.push(message(shadowTopic, shadow, record));
        } catch (err) {
          deps.onShadowFailed?.(frame, toLoomwatchError(err)); // the shadow never holds back a live verdict
        }
      }
      return outputs;
    } finally {
      lease.release();
    }
  };
}
