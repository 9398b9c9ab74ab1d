import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { LoomwatchError, Verdict, decodeMessage, traceIdOf, traceparent, type FrameEvent } from '@loomwatch/contracts';
import type { Decider, Decision } from '@loomwatch/inference';
import { mapOfOverlay, readOverlayRecipe } from '@loomwatch/overlay';
import type { InboundRecord } from '@loomwatch/kafka';
import { MemoryBlobStore } from '@loomwatch/storage';
import { ModelPool, fixedDeployment } from './model-pool.js';
import { createFrameRecordHandler, outputKeys } from './record-handler.js';

const IMAGE = Buffer.from('pretend-png-bytes');
const MODEL = { name: 'draem-test', version: '1.0.0', sha256: 'b'.repeat(64) };

function frameEvent(overrides: Partial<FrameEvent['image']> = {}): FrameEvent {
  return {
    frameId: 'line-1.cam-1.00000001.abc',
    lineId: 'line-1',
    cameraId: 'cam-1',
    seq: 1,
    capturedAt: '2026-11-22T00:00:00.000Z',
    image: {
      bucket: 'frames',
      key: 'frames/line-1/cam-1/1.png',
      width: 4096,
      height: 256,
      encoding: 'png',
      bytes: IMAGE.length,
      sha256: createHash('sha256').update(IMAGE).digest('hex'),
      ...overrides,
    },
  };
}

function record(value: string | Buffer, headers: Record<string, string> = {}): InboundRecord {
  return { topic: 'frames.v1', partition: 0, offset: '7', key: 'line-1:cam-1', value: Buffer.from(value), headers, timestamp: '0' };
}

/** The smallest PNG header (signature, 1 × 1 grey IHDR, IEND): enough to carry a recipe chunk. */
const MAP_PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108000000003a7e9b550000000049454e44ae426082', 'hex');

/** A decider that answers from a table: the handler's orchestration is what is under test. */
class TableDecider implements Decider {
  readonly model: typeof MODEL;
  constructor(version = MODEL.version) {
    this.model = { ...MODEL, version };
  }
  width = 4096;
  failure: LoomwatchError | undefined;
  /** Fabrics with their own threshold, as a card's postprocess.fabrics. */
  calibratedFabrics = new Set<string>();
  /** As a card with operating points: the rate asked for applies, 0.05 when none is. */
  operatingPoints = false;
  /** The false-alarm rate of each decide call. */
  readonly ratesAsked: (number | undefined)[] = [];
  readonly usable = true;
  /** Whether it renders the overlay with each decision (`per-frame`) or leaves it for on request. */
  perFrame = true;
  decide(_image: Buffer, fabricCode?: string, falseAlarmRate?: number): Promise<Decision> {
    this.ratesAsked.push(falseAlarmRate);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const calibrated = fabricCode !== undefined && this.calibratedFabrics.has(fabricCode);
    return Promise.resolve({
      width: this.width,
      height: 256,
      score: 0.8,
      normalizedScore: 0.7,
      threshold: calibrated ? 0.9 : 0.6,
      ...(calibrated ? { calibratedFabric: fabricCode } : {}),
      ...(this.operatingPoints ? { falseAlarmRate: falseAlarmRate ?? 0.05 } : {}),
      verdict: 'defect',
      regions: [{ x: 1, y: 2, width: 3, height: 4, area: 10, maxScore: 0.9, meanScore: 0.7 }],
      inputStats: { mean: 100, std: 10, min: 0, max: 255, histogram: [0.5, 0.5] },
      anomalyMapPng: MAP_PNG,
      ...(this.perFrame ? { overlay: { body: Buffer.from('overlay'), contentType: 'image/jpeg' as const, extension: 'jpg' as const } } : {}),
      overlayStyle: { colour: 'reject', pixelThreshold: 0.4, normalization: { min: 0.1, max: 0.9 }, format: 'jpeg', jpegQuality: 85, pngCompressionLevel: 1 },
      timings: { decodeMs: 1, inferMs: 2, postMs: 3 },
    });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const config = {
  workerId: 'worker-a',
  allowedBuckets: ['frames'],
  outputBucket: 'results',
  verdictTopic: 'verdicts.v1',
  source: '/loomwatch/inference-worker',
};

describe('frame record handler', () => {
  let store: MemoryBlobStore;
  let decider: TableDecider;
  let router: ModelPool;
  let deciders: Map<string, TableDecider>;

  beforeEach(async () => {
    store = new MemoryBlobStore();
    decider = new TableDecider();
    deciders = new Map([['1.0.0', decider], ['1.1.0', new TableDecider('1.1.0')]]);
    router = await ModelPool.start((version) => Promise.resolve(deciders.get(version) ?? new TableDecider(version)), fixedDeployment('draem-test', '1.0.0'));
    await store.ensureBucket('frames');
    await store.ensureBucket('results');
    await store.put({ bucket: 'frames', key: 'frames/line-1/cam-1/1.png' }, IMAGE);
  });

  it('publishes a verdict naming the model and the stored map and overlay, keyed by line and camera', async () => {
    const handle = createFrameRecordHandler(config, { store, router, now: () => new Date('2026-11-22T00:00:01Z') });
    const parent = traceparent();
    const [message] = await handle(record(JSON.stringify(frameEvent()), { traceparent: parent }), 1);
    expect(message?.topic).toBe('verdicts.v1');
    expect(message?.key).toBe('line-1:cam-1');
    const verdict = decodeMessage(Verdict, message?.value ?? null);
    expect(verdict).toMatchObject({ frameId: 'line-1.cam-1.00000001.abc', verdict: 'defect', score: 0.8, model: MODEL, workerId: 'worker-a' });
    expect(traceIdOf(message?.headers['traceparent'])).toBe(traceIdOf(parent));
    const keys = outputKeys(frameEvent(), MODEL, 'jpg');
    expect(verdict.anomalyMap).toEqual({ bucket: 'results', key: keys.anomalyMap });
    expect((await store.get(verdict.anomalyMap)).subarray(0, 33)).toEqual(MAP_PNG.subarray(0, 33));
    expect((await store.get(verdict.overlay)).toString()).toBe('overlay');
  });

  it('stores the map with its overlay recipe (the frame, the heat scale, the regions), and no overlay when it is left for on request', async () => {
    decider.perFrame = false;
    const handle = createFrameRecordHandler(config, { store, router });
    const [message] = await handle(record(JSON.stringify(frameEvent())), 1);
    const verdict = decodeMessage(Verdict, message?.value ?? null);
    expect(verdict.overlay).toEqual({ bucket: 'results', key: outputKeys(frameEvent(), MODEL, 'jpg').overlay });
    expect(mapOfOverlay(verdict.overlay).map).toEqual(verdict.anomalyMap);
    expect(await store.head(verdict.overlay)).toBeUndefined();
    const map = await store.get(verdict.anomalyMap);
    expect(map.subarray(map.length - 12)).toEqual(MAP_PNG.subarray(MAP_PNG.length - 12));
    expect(readOverlayRecipe(map)).toEqual({
      v: 1,
      frame: { bucket: 'frames', key: 'frames/line-1/cam-1/1.png', sha256: frameEvent().image.sha256 },
      colour: 'reject',
      pixelThreshold: 0.4,
      normalization: { min: 0.1, max: 0.9 },
      format: 'jpeg',
      jpegQuality: 85,
      pngCompressionLevel: 1,
      regions: [[1, 2, 3, 4]],
    });
  });

  it("passes the frame's fabric code to the model and names the fabric whose calibration decided", async () => {
    decider.calibratedFabrics.add('02');
    const handle = createFrameRecordHandler(config, { store, router });
    const decide = async (fabricCode?: string) => {
      const frame = { ...frameEvent(), ...(fabricCode === undefined ? {} : { product: { fabricCode } }) };
      const [message] = await handle(record(JSON.stringify(frame)), 1);
      return decodeMessage(Verdict, message?.value ?? null);
    };
    expect(await decide('02')).toMatchObject({ threshold: 0.9, calibratedFabric: '02' });
    for (const verdict of [await decide('05'), await decide()]) {
      expect(verdict.threshold).toBe(0.6);
      expect(verdict).not.toHaveProperty('calibratedFabric');
    }
  });

  it("judges a frame at its line's false-alarm rate and names the rate on the verdict, the shadow's too", async () => {
    decider.operatingPoints = true;
    const shadowDecider = deciders.get('1.1.0') as TableDecider;
    shadowDecider.operatingPoints = true;
    await router.apply({
      ...fixedDeployment('draem-test', '1.0.0'),
      revision: 1,
      shadow: { version: '1.1.0', sample: 1 },
      operatingPoint: { falseAlarmRate: 0.02, lines: { 'line-1': 0.01 } },
    });
    const handle = createFrameRecordHandler(config, { store, router });
    const [live, shadow] = await handle(record(JSON.stringify(frameEvent())), 1);
    expect(decodeMessage(Verdict, live?.value ?? null).falseAlarmRate).toBe(0.01);
    expect(decodeMessage(Verdict, shadow?.value ?? null).falseAlarmRate).toBe(0.01);
    expect([decider.ratesAsked, shadowDecider.ratesAsked]).toEqual([[0.01], [0.01]]);
  });

  it("leaves the rate to the card when the deployment names none, and off the verdict when the card has no operating points", async () => {
    const handle = createFrameRecordHandler(config, { store, router });
    const decide = async () => decodeMessage(Verdict, (await handle(record(JSON.stringify(frameEvent())), 1))[0]?.value ?? null);
    expect(await decide()).not.toHaveProperty('falseAlarmRate');
    decider.operatingPoints = true;
    expect((await decide()).falseAlarmRate).toBe(0.05);
    expect(decider.ratesAsked).toEqual([undefined, undefined]);
  });

  it('derives output keys from frame id and model version, so a retry overwrites', () => {
    expect(outputKeys(frameEvent(), MODEL, 'jpg')).toEqual({
      anomalyMap: 'maps/draem-test/1.0.0/line-1/cam-1/line-1.cam-1.00000001.abc.png',
      overlay: 'overlays/draem-test/1.0.0/line-1/cam-1/line-1.cam-1.00000001.abc.jpg',
    });
  });

  it.each([
    ['a value that is not JSON', '{oops', 'MESSAGE_NOT_JSON'],
    ['a message missing fields', JSON.stringify({ frameId: 'x' }), 'MESSAGE_SCHEMA_VIOLATION'],
    ['a key with ".."', JSON.stringify(frameEvent({ key: '../../etc/passwd' })), 'MESSAGE_SCHEMA_VIOLATION'],
    ['an absolute key', JSON.stringify(frameEvent({ key: '/etc/passwd' })), 'MESSAGE_SCHEMA_VIOLATION'],
    ['a bucket outside the allow-list', JSON.stringify(frameEvent({ bucket: 'secrets' })), 'BUCKET_NOT_ALLOWED'],
    ['a checksum that does not match', JSON.stringify(frameEvent({ sha256: 'c'.repeat(64) })), 'IMAGE_CHECKSUM_MISMATCH'],
    ['a value over the 1,000,000-byte limit', JSON.stringify({ padding: 'x'.repeat(1_000_000) }), 'MESSAGE_TOO_LARGE'],
  ])('rejects %s with a permanent %s', async (_, value, code) => {
    const handle = createFrameRecordHandler(config, { store, router });
    await expect(handle(record(value), 1)).rejects.toMatchObject({ code, retryable: false });
  });

  it('retries a missing object, then gives up with a permanent OBJECT_NOT_FOUND', async () => {
    const handle = createFrameRecordHandler({ ...config, missingObjectAttempts: 2 }, { store, router });
    const missing = JSON.stringify(frameEvent({ key: 'frames/none.png' }));
    await expect(handle(record(missing), 1)).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND', retryable: true });
    await expect(handle(record(missing), 2)).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND', retryable: false });
  });

  it('rejects an empty object as a permanent IMAGE_EMPTY, not a checksum mismatch', async () => {
    await store.put({ bucket: 'frames', key: 'frames/empty.png' }, Buffer.alloc(0));
    const handle = createFrameRecordHandler(config, { store, router });
    await expect(handle(record(JSON.stringify(frameEvent({ key: 'frames/empty.png' }))), 1)).rejects.toMatchObject({ code: 'IMAGE_EMPTY', retryable: false });
  });

  it('rejects an image whose dimensions differ from the event', async () => {
    decider.width = 2048;
    const handle = createFrameRecordHandler(config, { store, router });
    await expect(handle(record(JSON.stringify(frameEvent())), 1)).rejects.toMatchObject({ code: 'IMAGE_DIMENSIONS_MISMATCH' });
  });

  it('passes the decider’s image errors through unchanged', async () => {
    decider.failure = new LoomwatchError('IMAGE_CORRUPT', 'truncated PNG');
    const handle = createFrameRecordHandler(config, { store, router });
    await expect(handle(record(JSON.stringify(frameEvent())), 1)).rejects.toMatchObject({ code: 'IMAGE_CORRUPT' });
  });

  it('adds the shadow version’s verdict for the shadow topic, its pictures under its own version', async () => {
    await router.apply({ ...fixedDeployment('draem-test', '1.0.0'), revision: 1, shadow: { version: '1.1.0', sample: 1 } });
    const handle = createFrameRecordHandler(config, { store, router });
    const [live, shadow, ...rest] = await handle(record(JSON.stringify(frameEvent())), 1);
    expect(rest).toEqual([]);
    expect(live?.topic).toBe('verdicts.v1');
    expect(shadow?.topic).toBe('verdicts.shadow.v1');
    expect(decodeMessage(Verdict, live?.value ?? null).model.version).toBe('1.0.0');
    const shadowVerdict = decodeMessage(Verdict, shadow?.value ?? null);
    expect(shadowVerdict.model.version).toBe('1.1.0');
    expect(shadowVerdict.anomalyMap.key).toBe(outputKeys(frameEvent(), { ...MODEL, version: '1.1.0' }, 'jpg').anomalyMap);
  });

  it('publishes the live verdict alone when the shadow version fails, and reports the failure', async () => {
    (deciders.get('1.1.0') as TableDecider).failure = new LoomwatchError('MODEL_RUN_FAILED', 'session died');
    await router.apply({ ...fixedDeployment('draem-test', '1.0.0'), revision: 1, shadow: { version: '1.1.0', sample: 1 } });
    const failures: string[] = [];
    const handle = createFrameRecordHandler(config, { store, router, onShadowFailed: (_, error) => failures.push(error.code) });
    const outputs = await handle(record(JSON.stringify(frameEvent())), 1);
    expect(outputs.map((m) => m.topic)).toEqual(['verdicts.v1']);
    expect(failures).toEqual(['MODEL_RUN_FAILED']);
  });

  it('lets a canary line’s frames be decided by the candidate version', async () => {
    await router.apply({ ...fixedDeployment('draem-test', '1.0.0'), revision: 1, canary: { version: '1.1.0', lines: ['line-1'], cameras: [] } });
    const handle = createFrameRecordHandler(config, { store, router });
    const [message] = await handle(record(JSON.stringify(frameEvent())), 1);
    expect(decodeMessage(Verdict, message?.value ?? null).model.version).toBe('1.1.0');
  });
});
