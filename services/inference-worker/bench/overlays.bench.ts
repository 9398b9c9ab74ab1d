/**
 * What taking the overlay off the frame's path saves: the CPU the worker's record handler spends
 * per frame (fetch, decide, store: `createFrameRecordHandler`, as the worker runs it) with
 * `worker.overlays: per-frame` against `on-request`, on the same AITEX frames, per model version,
 * the two modes alternating frame by frame (and which goes first alternating too); then what the
 * overlay costs the first reader (render + put, `OverlayRenderer`) against a cached read (head +
 * get, as the dashboard's proxy does). CPU is `process.cpuUsage` (user + system of the whole
 * process: the model's threads too), which a loaded machine inflates far less than wall time.
 *
 *   pnpm exec tsx --conditions=@loomwatch/source services/inference-worker/bench/overlays.bench.ts \
 *     [--models patchcore-aitex@1.2.0,patchcore-aitex@1.1.0] [--frames 6] [--rounds 2] [--threads 1]
 *
 * Uses the integration tests' S3 instance (port 28000; `S3_ENDPOINT` for another). Prints one JSON line.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FrameEvent, Verdict, decodeMessage, encodeMessage } from '@loomwatch/contracts';
import { ModelPool, createFrameRecordHandler, fixedDeployment } from '@loomwatch/frame-pipeline';
import { EngineDecider, mapToGray8, type OverlayTiming } from '@loomwatch/inference';
import { OverlayRenderer, decodeFrameOf, encodeOverlayFromGray8, mapLevels, readOverlayRecipe } from '@loomwatch/overlay';
import { quantile } from '@loomwatch/observability';
import { S3BlobStore } from '@loomwatch/storage';
import { aitexFrames } from '@loomwatch/testkit';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'patchcore-aitex@1.2.0,patchcore-aitex@1.1.0' },
    frames: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '2' },
    threads: { type: 'string', default: '1' },
  },
});
const MODES: readonly OverlayTiming[] = ['per-frame', 'on-request'];
const median = (xs: readonly number[]): number => Math.round(quantile([...xs].sort((a, b) => a - b), 0.5) * 10) / 10;

function cpuMs(since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
}

// The integration tests' S3 instance (deploy/local/infra.sh on the test state, port 28000) unless S3_ENDPOINT names another.
const store = new S3BlobStore({
  endpoint: process.env['S3_ENDPOINT'] ?? 'http://127.0.0.1:28000',
  region: 'us-east-1',
  accessKeyId: process.env['S3_ACCESS_KEY_ID'] ?? 'loomwatch',
  secretAccessKey: process.env['S3_SECRET_ACCESS_KEY'] ?? 'loomwatch-secret',
  forcePathStyle: true,
});
const tag = `bench-overlays-${randomUUID().slice(0, 8)}`;
const frameBucket = `${tag}-frames`;
const outputBucket = `${tag}-results`;
await store.ensureBucket(frameBucket);
await store.ensureBucket(outputBucket);

// Defects and normals alternating, so the regions drawn vary as on a line.
const all = aitexFrames();
const defects = all.filter((f) => f.defectCode !== '000');
const normals = all.filter((f) => f.defectCode === '000');
const picked = Array.from({ length: Number(values.frames) }, (_, i) => (i % 2 === 0 ? defects : normals)[Math.floor(i / 2) * 7]).filter((f) => f !== undefined);
const frames: FrameEvent[] = [];
for (const [seq, file] of picked.entries()) {
  const image = readFileSync(file.path);
  const key = `frames/line-1/cam-1/${seq}.png`;
  await store.put({ bucket: frameBucket, key }, image, 'image/png');
  frames.push({
    frameId: `bench.${seq}`,
    lineId: 'line-1',
    cameraId: 'cam-1',
    seq,
    capturedAt: new Date().toISOString(),
    image: { bucket: frameBucket, key, width: 4096, height: 256, encoding: 'png', bytes: image.length, sha256: createHash('sha256').update(image).digest('hex') },
  });
}

const results: Record<string, unknown>[] = [];
const onRequestVerdicts: Verdict[] = [];
for (const model of values.models.split(',')) {
  const [name = '', version = ''] = model.split('@');
  const handlers = new Map<OverlayTiming, ReturnType<typeof createFrameRecordHandler>>();
  const pools: ModelPool[] = [];
  for (const overlays of MODES) {
    const pool = await ModelPool.start(
      (v) => EngineDecider.load({ model: `${name}@${v}`, intraOpNumThreads: Number(values.threads), overlays }),
      fixedDeployment(name, version),
    );
    pools.push(pool);
    handlers.set(
      overlays,
      createFrameRecordHandler(
        { workerId: 'bench', allowedBuckets: [frameBucket], outputBucket, verdictTopic: 'v', source: '/bench' },
        { store, router: pool },
      ),
    );
  }
  const cpu: Record<OverlayTiming, number[]> = { 'per-frame': [], 'on-request': [] };
  const stages: Record<OverlayTiming, Record<string, number[]>> = { 'per-frame': {}, 'on-request': {} };
  const run = async (overlays: OverlayTiming, frame: FrameEvent, keep: boolean): Promise<void> => {
    const handle = handlers.get(overlays);
    if (handle === undefined) throw new Error(overlays);
    // A frame id per mode, so each mode writes its own keys.
    const event = { ...frame, frameId: `${frame.frameId}.${overlays}` };
    const record = { topic: 'f', partition: 0, offset: '0', key: 'line-1:cam-1', value: encodeMessage(FrameEvent, event), headers: {}, timestamp: '0' };
    const started = process.cpuUsage();
    const [message] = await handle(record, 1);
    const spent = cpuMs(started);
    if (!keep) return;
    const verdict = decodeMessage(Verdict, message?.value ?? null);
    cpu[overlays].push(spent);
    for (const [stage, ms] of Object.entries(verdict.timings)) (stages[overlays][stage] ??= []).push(ms);
    if (overlays === 'on-request') onRequestVerdicts.push(verdict);
  };
  // One frame each to warm up (first run of a session, JIT), not counted.
  const warmUp = frames[0];
  if (warmUp === undefined) throw new Error('no AITEX frames: set AITEX_DIR');
  for (const overlays of MODES) await run(overlays, warmUp, false);
  let flip = false;
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const frame of frames) {
      const order = flip ? [...MODES].reverse() : MODES;
      flip = !flip;
      for (const overlays of order) await run(overlays, frame, true);
    }
  }
  for (const pool of pools) await pool.close();
  const summary = (overlays: OverlayTiming) => ({
    cpuMsPerFrame: median(cpu[overlays]),
    frames: cpu[overlays].length,
    stagesMs: Object.fromEntries(Object.entries(stages[overlays]).map(([stage, xs]) => [stage, median(xs)])),
  });
  const perFrame = summary('per-frame');
  const onRequest = summary('on-request');
  // The same frame in the same round decided both ways: the median of those differences is steadier than a difference of medians.
  const paired = cpu['per-frame'].map((ms, i) => ms - (cpu['on-request'][i] ?? ms));
  results.push({
    model,
    perFrame,
    onRequest,
    savedCpuMsPerFrame: Math.round((perFrame.cpuMsPerFrame - onRequest.cpuMsPerFrame) * 10) / 10,
    savedCpuMsPairedMedian: median(paired),
  });
}

// The first reader of an overlay pays render + put; later readers a head + get.
const renderer = new OverlayRenderer(store);
const first: { wallMs: number[]; cpuMs: number[] } = { wallMs: [], cpuMs: [] };
const cached: { wallMs: number[]; cpuMs: number[] } = { wallMs: [], cpuMs: [] };
const seen = new Set<string>();
for (const verdict of onRequestVerdicts) {
  if (seen.has(verdict.overlay.key)) continue;
  seen.add(verdict.overlay.key);
  let cpuAt = process.cpuUsage();
  let at = performance.now();
  await renderer.render(verdict.overlay);
  first.wallMs.push(performance.now() - at);
  first.cpuMs.push(cpuMs(cpuAt));
  cpuAt = process.cpuUsage();
  at = performance.now();
  await store.head(verdict.overlay);
  await store.get(verdict.overlay);
  cached.wallMs.push(performance.now() - at);
  cached.cpuMs.push(cpuMs(cpuAt));
}
// The work per-frame mode adds to a frame and on-request leaves out, alone (no model running
// beside it): the map's 8-bit levels, the overlay's pixels and JPEG, and its put.
const alone: number[] = [];
for (const verdict of onRequestVerdicts.slice(0, 12)) {
  const mapPng = await store.get(verdict.anomalyMap);
  const recipe = readOverlayRecipe(mapPng);
  if ('problem' in recipe) throw new Error(recipe.detail);
  const frame = await decodeFrameOf(await store.get(recipe.frame), recipe);
  const map = Float32Array.from((await mapLevels(mapPng)).levels, (level) => level / 255);
  const started = process.cpuUsage();
  const body = await encodeOverlayFromGray8(frame, mapToGray8(map), verdict.regions, recipe, recipe);
  await store.put({ bucket: outputBucket, key: `alone/${verdict.frameId}.jpg` }, body, 'image/jpeg');
  alone.push(cpuMs(started));
}
await store.removeBucket(outputBucket);
await store.removeBucket(frameBucket);
store.close();
const sum = (o: { wallMs: number[]; cpuMs: number[] }) => ({ wallMs: median(o.wallMs), cpuMs: median(o.cpuMs), overlays: o.wallMs.length });
console.log(JSON.stringify({ models: results, perFrameOverlayWorkAloneCpuMs: median(alone), overlayFirstRequest: sum(first), overlayCached: sum(cached), loadavg: (await import('node:os')).loadavg() }));
process.exit(0);
