/**
 * Frames for integration tests and benches (`@loomwatch/frame-pipeline/testing`), published the way
 * a camera gateway does — the image uploaded to S3 first, then its FrameEvent on the frames topic
 * through the Kafka ports — so the worker's and the replay's tests need no gateway.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { EVENT_TYPES, FrameEvent, cloudEventHeaders, encodeMessage, messageKey } from '@loomwatch/contracts';
import type { KafkaClient } from '@loomwatch/kafka';
import type { BlobStore } from '@loomwatch/storage';

/** One camera frame: a PNG image and where it was taken. */
interface TestFrame {
  lineId: string;
  cameraId: string;
  seq: number;
  /** PNG bytes; width and height are read from its header. */
  image: Buffer;
  /** Sent as the event's product.fabricCode. */
  fabricCode?: string;
}

interface FrameTarget {
  client: KafkaClient;
  store: BlobStore;
  /** Where the images are uploaded. */
  bucket: string;
  /** Where the FrameEvents go. */
  topic: string;
}

const UPLOADS_AT_ONCE = 8;

/** Width and height from a PNG's IHDR chunk. */
function pngSize(image: Buffer): { width: number; height: number } {
  return { width: image.readUInt32BE(16), height: image.readUInt32BE(20) };
}

/** The event of a frame, with the gateway's id and key scheme: the same frame always gets the same id and object key. */
function testFrameEvent(frame: TestFrame, bucket: string, capturedAt = new Date()): FrameEvent {
  const sha256 = createHash('sha256').update(frame.image).digest('hex');
  const frameId = `${frame.lineId}.${frame.cameraId}.${String(frame.seq).padStart(8, '0')}.${sha256.slice(0, 12)}`;
  return {
    frameId,
    lineId: frame.lineId,
    cameraId: frame.cameraId,
    seq: frame.seq,
    capturedAt: capturedAt.toISOString(),
    image: { bucket, key: `frames/${frame.lineId}/${frame.cameraId}/${frameId}.png`, ...pngSize(frame.image), encoding: 'png', bytes: frame.image.length, sha256 },
    ...(frame.fabricCode === undefined ? {} : { product: { fabricCode: frame.fabricCode } }),
  };
}

interface TestFramePublisher {
  /** Uploads every frame's image, then publishes their events in order (one send); returns the events. */
  publish(frames: readonly TestFrame[]): Promise<FrameEvent[]>;
  close(): Promise<void>;
}

/** A connected publisher of test frames, for callers that publish many times (a paced load). */
export async function openTestFramePublisher(target: FrameTarget): Promise<TestFramePublisher> {
  const publisher = target.client.publisher();
  await publisher.connect();
  return {
    async publish(frames) {
      const events = frames.map((frame) => testFrameEvent(frame, target.bucket));
      for (let i = 0; i < events.length; i += UPLOADS_AT_ONCE) {
        await Promise.all(
          events
            .slice(i, i + UPLOADS_AT_ONCE)
            .map((event, j) => target.store.put({ bucket: target.bucket, key: event.image.key }, frames[i + j]?.image ?? Buffer.alloc(0), 'image/png')),
        );
      }
      await publisher.send(
        events.map((event) => ({
          topic: target.topic,
          key: messageKey(event.lineId, event.cameraId),
          value: encodeMessage(FrameEvent, event),
          headers: { ...cloudEventHeaders(EVENT_TYPES.frame, '/loomwatch/test', { id: event.frameId }) },
        })),
      );
      return events;
    },
    close: () => publisher.close(),
  };
}

/** Uploads every frame's image, then publishes their events in order; returns the events. */
export async function publishTestFrames(target: FrameTarget, frames: readonly TestFrame[]): Promise<FrameEvent[]> {
  const publisher = await openTestFramePublisher(target);
  try {
    return await publisher.publish(frames);
  } finally {
    await publisher.close();
  }
}

/**
 * `framesPerCamera` frames from each of `lines × camerasPerLine` cameras (`line-1`/`cam-1`, …), as
 * the gateway's simulator lays them out: each camera starts at a different file, sequence numbers
 * from `firstSeq`, the cameras interleaved.
 */
export async function cameraFrames(options: {
  files: readonly string[];
  lines: number;
  camerasPerLine: number;
  framesPerCamera: number;
  firstSeq: number;
}): Promise<TestFrame[]> {
  const { files, lines, camerasPerLine, framesPerCamera, firstSeq } = options;
  const cameras = lines * camerasPerLine;
  const images = new Map<string, Promise<Buffer>>();
  const read = (path: string): Promise<Buffer> => {
    let image = images.get(path);
    if (image === undefined) images.set(path, (image = readFile(path)));
    return image;
  };
  const frames: Promise<TestFrame>[] = [];
  for (let n = 0; n < framesPerCamera; n++) {
    for (let camera = 0; camera < cameras; camera++) {
      const path = files[(Math.floor((camera * files.length) / cameras) + n) % files.length] ?? '';
      frames.push(
        read(path).then((image) => ({
          lineId: `line-${Math.floor(camera / camerasPerLine) + 1}`,
          cameraId: `cam-${(camera % camerasPerLine) + 1}`,
          seq: firstSeq + n,
          image,
        })),
      );
    }
  }
  return Promise.all(frames);
}
