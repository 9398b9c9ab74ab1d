import { createHash } from 'node:crypto';
import {
  EVENT_TYPES,
  FrameEvent,
  LoomwatchError,
  TOPICS,
  cloudEventHeaders,
  encodeMessage,
  messageKey,
  toLoomwatchError,
  type ImageEncoding,
} from '@loomwatch/contracts';
import { backoffDelay, sleep } from '@loomwatch/concurrency';
import type { Publisher } from '@loomwatch/kafka';
import type { BlobStore } from '@loomwatch/storage';

export interface CapturedFrame {
  lineId: string;
  cameraId: string;
  seq: number;
  capturedAt: Date;
  image: Buffer;
  width: number;
  height: number;
  encoding: ImageEncoding;
  product?: FrameEvent['product'];
  attributes?: Record<string, string>;
}

const EXTENSIONS: Record<ImageEncoding, string> = {
  png: 'png',
  jpeg: 'jpg',
  tiff: 'tif',
  webp: 'webp',
  'raw-gray8': 'raw',
};

export function sha256Hex(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/**
 * A frame's id is stable: the same camera, sequence number and image always give the same id,
 * so a retried upload-and-publish is recognisable downstream.
 */
export function frameIdOf(frame: Pick<CapturedFrame, 'lineId' | 'cameraId' | 'seq'>, sha256: string): string {
  return `${frame.lineId}.${frame.cameraId}.${String(frame.seq).padStart(8, '0')}.${sha256.slice(0, 12)}`;
}

/** The object key is derived from the frame id: the same frame always lands on the same key. */
function frameObjectKey(frame: Pick<CapturedFrame, 'lineId' | 'cameraId' | 'encoding'>, frameId: string): string {
  return `frames/${frame.lineId}/${frame.cameraId}/${frameId}.${EXTENSIONS[frame.encoding]}`;
}

export function buildFrameEvent(frame: CapturedFrame, bucket: string): FrameEvent {
  const sha256 = sha256Hex(frame.image);
  const frameId = frameIdOf(frame, sha256);
  const event: FrameEvent = {
    frameId,
    lineId: frame.lineId,
    cameraId: frame.cameraId,
    seq: frame.seq,
    capturedAt: frame.capturedAt.toISOString(),
    image: {
      bucket,
      key: frameObjectKey(frame, frameId),
      width: frame.width,
      height: frame.height,
      encoding: frame.encoding,
      bytes: frame.image.length,
      sha256,
    },
  };
  if (frame.product !== undefined) event.product = frame.product;
  if (frame.attributes !== undefined) event.attributes = frame.attributes;
  return event;
}

interface FramePublisherOptions {
  store: BlobStore;
  /** The idempotent producer the frame events go out on. */
  publisher: Publisher;
  bucket: string;
  /** CloudEvents source, e.g. `/loomwatch/camera-gateway/<host>`. */
  source: string;
  /** @defaultValue TOPICS.frames */
  topic?: string;
  /** How many recent frame ids are remembered to make a repeated publish a no-op. @defaultValue 10000 */
  rememberFrames?: number;
  /** Attempts at an upload that fails transiently (S3 down, 5xx, timeout). @defaultValue 8 */
  uploadAttempts?: number;
  /** First backoff between upload attempts; doubles, with full jitter, up to 5 s. @defaultValue 200 */
  retryInitialMs?: number;
  /** Told about each upload retry, e.g. to log it. */
  onRetry?: (error: LoomwatchError, attempt: number) => void;
}

/**
 * Uploads a frame's image, then publishes its reference — never a reference to a missing object.
 * Idempotent on frame id: the same frame (camera, sequence number, bytes) published again while
 * remembered — or while its first publish is still under way — returns the first event without
 * publishing twice.
 *
 * A transient upload failure is retried with backoff (the key is deterministic, so a retry
 * overwrites). A failed send is not retried here: the idempotent publisher already retried it,
 * and a second send could duplicate a message that did land; the caller gets a retryable `BROKER_UNAVAILABLE` and decides (the hot folder checks the topic first).
 */
export class FramePublisher {
  private readonly recent = new Map<string, FrameEvent>();
  private readonly inFlight = new Map<string, Promise<FrameEvent>>();
  private readonly options: FramePublisherOptions;

  constructor(options: FramePublisherOptions) {
    this.options = options;
  }

  get bucket(): string {
    return this.options.bucket;
  }

  publish(frame: CapturedFrame): Promise<FrameEvent> {
    const event = buildFrameEvent(frame, this.options.bucket);
    const seen = this.recent.get(event.frameId);
    if (seen !== undefined) return Promise.resolve(seen);
    const running = this.inFlight.get(event.frameId);
    if (running !== undefined) return running;
    const publishing = this.uploadThenSend(event, frame).finally(() => this.inFlight.delete(event.frameId));
    this.inFlight.set(event.frameId, publishing);
    return publishing;
  }

  private async uploadThenSend(event: FrameEvent, frame: CapturedFrame): Promise<FrameEvent> {
    const value = encodeMessage(FrameEvent, event);
    await this.upload(event, frame);
    try {
      await this.options.publisher.send([
        {
          topic: this.options.topic ?? TOPICS.frames,
          key: messageKey(event.lineId, event.cameraId),
          value,
          headers: { ...cloudEventHeaders(EVENT_TYPES.frame, this.options.source, { id: event.frameId }) },
        },
      ]);
    } catch (err) {
      throw new LoomwatchError('BROKER_UNAVAILABLE', `publishing frame ${event.frameId} failed: ${(err as Error).message}`, {
        cause: err,
        retryable: true,
      });
    }
    this.remember(event);
    return event;
  }

  private async upload(event: FrameEvent, frame: CapturedFrame): Promise<void> {
    const attempts = this.options.uploadAttempts ?? 8;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.store.put({ bucket: this.options.bucket, key: event.image.key }, frame.image, `image/${frame.encoding}`);
        return;
      } catch (thrown) {
        const error = toLoomwatchError(thrown);
        if (!error.retryable || attempt >= attempts) throw error;
        this.options.onRetry?.(error, attempt);
        await sleep(backoffDelay(attempt, { initialMs: this.options.retryInitialMs ?? 200 }));
      }
    }
  }

  private remember(event: FrameEvent): void {
    this.recent.set(event.frameId, event);
    if (this.recent.size > (this.options.rememberFrames ?? 10_000)) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }
}
