import { createHash } from 'node:crypto';
import type { Producer } from 'kafkajs';
import {
  EVENT_TYPES,
  FrameEvent,
  TOPICS,
  cloudEventHeaders,
  encodeMessage,
  messageKey,
  type ImageEncoding,
} from '@loomwatch/contracts';
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
export function frameObjectKey(frame: Pick<CapturedFrame, 'lineId' | 'cameraId' | 'encoding'>, frameId: string): string {
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

export interface FramePublisherOptions {
  store: BlobStore;
  producer: Producer;
  bucket: string;
  /** CloudEvents source, e.g. `/loomwatch/camera-gateway/<host>`. */
  source: string;
  /** @defaultValue TOPICS.frames */
  topic?: string;
  /** How many recent frame ids are remembered to make a repeated publish a no-op. @defaultValue 10000 */
  rememberFrames?: number;
}

/**
 * Uploads a frame's image, then publishes its reference — never a reference to a missing object.
 * Idempotent on frame id: the same frame (camera, sequence number, bytes) published again while
 * remembered returns the first event without publishing twice.
 */
export class FramePublisher {
  private readonly recent = new Map<string, FrameEvent>();
  private readonly options: FramePublisherOptions;

  constructor(options: FramePublisherOptions) {
    this.options = options;
  }

  async publish(frame: CapturedFrame): Promise<FrameEvent> {
    const event = buildFrameEvent(frame, this.options.bucket);
    const seen = this.recent.get(event.frameId);
    if (seen !== undefined) return seen;
    await this.options.store.put({ bucket: this.options.bucket, key: event.image.key }, frame.image, `image/${frame.encoding}`);
    await this.options.producer.send({
      topic: this.options.topic ?? TOPICS.frames,
      messages: [
        {
          key: messageKey(event.lineId, event.cameraId),
          value: encodeMessage(FrameEvent, event),
          headers: { ...cloudEventHeaders(EVENT_TYPES.frame, this.options.source, { id: event.frameId }) },
        },
      ],
    });
    this.remember(event);
    return event;
  }

  private remember(event: FrameEvent): void {
    this.recent.set(event.frameId, event);
    if (this.recent.size > (this.options.rememberFrames ?? 10_000)) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }
}
