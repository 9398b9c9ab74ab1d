import type { FrameEvent } from '@loomwatch/contracts';
import { aitexProduct, readImageFile, type ImageFile } from './image-files.js';
import type { FramePublisher } from './frame-publisher.js';

interface SimulatorOptions {
  files: readonly string[];
  /** @defaultValue 1 */
  lines: number;
  /** Cameras per line. @defaultValue 1 */
  camerasPerLine: number;
  /** Frames per second per camera; 0 = as fast as the publisher goes. */
  fps: number;
  /** Frames per camera; undefined = until stopped. */
  framesPerCamera?: number | undefined;
  /** First sequence number of every camera. @defaultValue Date.now() at start */
  firstSeq?: number;
  signal?: AbortSignal;
  onPublished?: (event: FrameEvent) => void;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Replays a folder of frames as `lines × camerasPerLine` cameras, each at `fps`, each camera
 * starting at a different file so the lines do not all show the same fabric at once.
 * Returns the number of frames published.
 */
export async function runSimulator(publisher: FramePublisher, options: SimulatorOptions): Promise<number> {
  if (options.files.length === 0) throw new Error('the simulator needs at least one image file');
  const cache = new Map<string, Promise<ImageFile>>();
  const load = (path: string): Promise<ImageFile> => {
    let file = cache.get(path);
    if (file === undefined) {
      file = readImageFile(path);
      cache.set(path, file);
    }
    return file;
  };
  const firstSeq = options.firstSeq ?? Date.now();
  const period = options.fps > 0 ? 1000 / options.fps : 0;
  const count = options.lines * options.camerasPerLine;
  const cameras = Array.from({ length: count }, (_, index) => ({
    lineId: `line-${Math.floor(index / options.camerasPerLine) + 1}`,
    cameraId: `cam-${(index % options.camerasPerLine) + 1}`,
    offset: Math.floor((index * options.files.length) / count),
    // Real cameras are not in step: spreading their phases keeps frames from arriving in bursts.
    phase: (index * period) / count,
  }));
  let published = 0;
  // One camera failing stops the others too: the caller sees the error, not a half-running replay.
  const failed = new AbortController();
  const signal = options.signal === undefined ? failed.signal : AbortSignal.any([options.signal, failed.signal]);
  const stopped = (): boolean => signal.aborted;

  const runCamera = async (camera: (typeof cameras)[number]): Promise<void> => {
    const started = Date.now() + camera.phase;
    for (let n = 0; options.framesPerCamera === undefined || n < options.framesPerCamera; n++) {
      if (stopped()) return;
      const due = started + n * period;
      if (due > Date.now()) await sleep(due - Date.now(), signal);
      if (stopped()) return;
      const path = options.files[(camera.offset + n) % options.files.length] ?? '';
      const file = await load(path);
      const { fabricCode, attributes } = aitexProduct(path);
      const event = await publisher.publish({
        lineId: camera.lineId,
        cameraId: camera.cameraId,
        seq: firstSeq + n,
        capturedAt: new Date(),
        image: file.body,
        width: file.width,
        height: file.height,
        encoding: file.encoding,
        ...(fabricCode === undefined ? {} : { product: { fabricCode } }),
        attributes,
      });
      published++;
      options.onPublished?.(event);
    }
  };
  await Promise.all(
    cameras.map((camera) =>
      runCamera(camera).catch((err: unknown) => {
        failed.abort();
        throw err;
      }),
    ),
  );
  return published;
}
