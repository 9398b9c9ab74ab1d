/**
 * Frames as a gateway publishes them, for the soak and the churn benchmark: AITEX images with
 * their checksums, the frame event naming the stored image, and the record that carries it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EVENT_TYPES, FrameEvent, cloudEventHeaders, encodeMessage, messageKey } from '@loomwatch/contracts';
import { partitionOf, type OutboundMessage } from '@loomwatch/kafka';
import { aitexFrames } from '@loomwatch/testkit';

export const FRAME_BUCKET = 'loomwatch-frames';

/** One AITEX image, read once. */
export interface FrameFile {
  body: Buffer;
  sha256: string;
  fabricCode: string;
}

export interface Camera {
  lineId: string;
  cameraId: string;
}

/** The AITEX frames (AITEX_DIR), each read with its SHA-256; fails when there are none. */
export function loadFrameFiles(): FrameFile[] {
  const files = aitexFrames().map((frame) => {
    const body = readFileSync(frame.path);
    return { body, sha256: createHash('sha256').update(body).digest('hex'), fabricCode: frame.fabricCode };
  });
  if (files.length === 0) throw new Error('no AITEX frames found: set AITEX_DIR');
  return files;
}

/**
 * `lines` × `camerasPerLine` cameras named `<prefix>-line-<n>` / `cam-<k>`, each camera number chosen
 * so its key lands on a partition holding the fewest cameras so far: the keys spread over `partitions`
 * as evenly as they can. Names taken in order hash as they fall — the soak's 6 cameras once landed
 * 2, 3, 0 and 1 on 4 partitions, and one of two workers had two thirds of the frames.
 */
export function cameras(prefix: string, lines: number, camerasPerLine: number, partitions: number): Camera[] {
  const load = new Array<number>(partitions).fill(0);
  const out: Camera[] = [];
  for (let line = 1; line <= lines; line++) {
    for (let k = 1, placed = 0; placed < camerasPerLine; k++) {
      const camera = { lineId: `${prefix}-line-${line}`, cameraId: `cam-${k}` };
      const partition = partitionOf(messageKey(camera.lineId, camera.cameraId), partitions);
      if ((load[partition] ?? 0) > Math.min(...load)) continue;
      load[partition] = (load[partition] ?? 0) + 1;
      out.push(camera);
      placed++;
    }
  }
  return out;
}

/**
 * `perPartition` cameras for each of `partitions` partitions, named `<prefix>-line-1` / `cam-<n>`
 * with the names chosen so their keys land evenly (the Java client's murmur2): every worker of a
 * balanced group then gets the same share of the frames.
 */
export function balancedCameras(prefix: string, partitions: number, perPartition: number): Camera[] {
  const byPartition = new Map<number, Camera[]>();
  for (let n = 1; byPartition.size < partitions || [...byPartition.values()].some((list) => list.length < perPartition); n++) {
    const camera = { lineId: `${prefix}-line-1`, cameraId: `cam-${n}` };
    const partition = partitionOf(messageKey(camera.lineId, camera.cameraId), partitions);
    const list = byPartition.get(partition) ?? [];
    if (list.length < perPartition) list.push(camera);
    byPartition.set(partition, list);
  }
  // Interleaved by partition, so consecutive frames go to different partitions.
  return Array.from({ length: perPartition }, (_, i) => [...byPartition.keys()].sort((a, b) => a - b).map((p) => byPartition.get(p)?.[i] as Camera)).flat();
}

/** The frame event of `file` as camera `camera`'s `seq`-th frame, its image under `frames/<line>/<camera>/<frameId>.png`, captured now. */
export function frameEvent(frameId: string, camera: Camera, seq: number, file: FrameFile): FrameEvent {
  return {
    frameId,
    ...camera,
    seq,
    capturedAt: new Date().toISOString(),
    image: { bucket: FRAME_BUCKET, key: `frames/${camera.lineId}/${camera.cameraId}/${frameId}.png`, width: 4096, height: 256, encoding: 'png', bytes: file.body.length, sha256: file.sha256 },
    ...(file.fabricCode === '' ? {} : { product: { fabricCode: file.fabricCode } }),
  };
}

/** The record of a frame event (or of `value`, a poison frame's bytes), keyed by its camera, with its CloudEvent headers. */
export function frameMessage(topic: string, source: string, event: FrameEvent, value: Buffer = encodeMessage(FrameEvent, event)): OutboundMessage {
  return { topic, key: messageKey(event.lineId, event.cameraId), value, headers: { ...cloudEventHeaders(EVENT_TYPES.frame, source, { id: event.frameId }) } };
}
