/**
 * `pnpm bench:inference [--model REF] [--frames N] [--reps R] [--threads T] [--registry DIR] [--record]`
 *
 * Runs N AITEX 4096 × 256 frames through the full `infer` path (decode → tiles → run → stitch
 * → score → regions → map PNG, two frames in flight as the `infer` command does) and, in the
 * same run and interleaved with it, through bare `session.run` on the same tile batches with the
 * same session options (on the main thread, as plain onnxruntime-node use does; the engine runs
 * its session in a worker). Reports medians over R repetitions (default 5, alternating which
 * path goes first) after a warm-up. Progress goes to
 * stderr; the last stdout line is one JSON object. `--record` also writes it, with the machine's
 * CPU and load, to the version's `eval/speed.json`, where `models/lw table` reads ms per frame.
 */
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { aitexFrames } from '@loomwatch/testkit';
import { DEFAULT_REGISTRY_ROOT, defaultModel, fillTileBatch, InferenceEngine, inputLut, planTiles, readVerifiedOnnx, sessionOptions } from '../src/index.js';

const IN_FLIGHT = 2;

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    frames: { type: 'string', default: '8' },
    reps: { type: 'string', default: '5' },
    threads: { type: 'string' },
    registry: { type: 'string', default: DEFAULT_REGISTRY_ROOT },
    record: { type: 'boolean', default: false },
  },
});
const registryRoot = values.registry;
const modelRef = values.model ?? (await defaultModel(registryRoot)).name;
const frameCount = Number(values.frames);
const reps = Number(values.reps);
const threads = values.threads === undefined ? availableParallelism() : Number(values.threads);

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The CPU's vector extensions (AVX2, AVX-512, VNNI…): timings only compare between machines that share them. */
function vectorFlags(): string[] {
  const info = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const flags = /^flags\s*:(.*)$/m.exec(info)?.[1]?.trim().split(/\s+/) ?? [];
  return flags.filter((f) => /^(avx|amx|fma)/.test(f)).sort();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

const loadAtStart = loadavg()[0] ?? NaN;
const engine = await InferenceEngine.load({ model: modelRef, registryRoot, intraOpNumThreads: threads });
const versionDir = engine.loaded.dir;
const card = engine.card;
const all = aitexFrames();
const picked = Array.from({ length: frameCount }, (_, i) => all[Math.floor((i * all.length) / frameCount)]?.path ?? '');
const encoded = picked.map((path) => readFileSync(path));

// The bare path: its own session from the same verified bytes and options, fed the very tile
// batches the engine builds (prepared before timing).
const bare = await ort.InferenceSession.create(await readVerifiedOnnx(engine.loaded.dir, card), sessionOptions(engine.config));
const t = card.input.tileSize;
const lut = inputLut(card.input.scale, card.input.offset);
const batches: ort.Tensor[][] = [];
let tilesPerFrame = 0;
for (const bytes of encoded) {
  const frame = await engine.decode(bytes);
  if (frame.width !== 4096 || frame.height !== 256) throw new Error(`expected 4096×256 AITEX frames, got ${frame.width}×${frame.height}`);
  const plan = planTiles(frame.width, frame.height, t, engine.stride);
  tilesPerFrame = plan.xs.length;
  const perFrame: ort.Tensor[] = [];
  for (let first = 0; first < tilesPerFrame; first += engine.batchSize) {
    const n = Math.min(engine.batchSize, tilesPerFrame - first);
    const data = new Float32Array(n * t * t);
    fillTileBatch(frame.data, plan, first, n, lut, data, new Int32Array(t));
    perFrame.push(new ort.Tensor('float32', data, [n, 1, t, t]));
  }
  batches.push(perFrame);
}

/** CPU seconds the whole process (all threads) spent per frame, summed over passes of each path. */
const cpu = { full: 0, bare: 0 };

async function fullPass(): Promise<number> {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const window: Promise<unknown>[] = [];
  let next = 0;
  while (next < encoded.length || window.length > 0) {
    while (window.length < IN_FLIGHT && next < encoded.length) {
      const bytes = encoded[next++] ?? Buffer.alloc(0);
      window.push(engine.infer(bytes).then((result) => engine.renderAnomalyMapPng(result)));
    }
    await window.shift();
  }
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpuStart);
  cpu.full += (used.user + used.system) / 1e6;
  return seconds;
}

async function barePass(): Promise<number> {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  for (const perFrame of batches) for (const input of perFrame) await bare.run({ [card.input.name]: input });
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpuStart);
  cpu.bare += (used.user + used.system) / 1e6;
  return seconds;
}

progress(`bench:inference — ${card.name}@${card.version}, ${frameCount} frames × ${reps} reps, ${tilesPerFrame} tiles/frame (stride ${engine.stride}, batch ${engine.batchSize}), ${threads} intra-op threads`);
progress('warm-up…');
await fullPass();
await barePass();
cpu.full = 0;
cpu.bare = 0;
const full: number[] = [];
const bareRates: number[] = [];
for (let rep = 1; rep <= reps; rep++) {
  // Alternate which path goes first, so a drifting machine load favours neither.
  let f: number;
  let b: number;
  if (rep % 2 === 1) {
    f = frameCount / (await fullPass());
    b = frameCount / (await barePass());
  } else {
    b = frameCount / (await barePass());
    f = frameCount / (await fullPass());
  }
  full.push(f);
  bareRates.push(b);
  progress(`rep ${rep}/${reps}: full ${f.toFixed(3)} frames/s, bare ${b.toFixed(3)} frames/s, ratio ${(f / b).toFixed(3)}`);
}
await bare.release();
await engine.close();

const framesPerSec = median(full);
const bareFramesPerSec = median(bareRates);
const ratio = framesPerSec / bareFramesPerSec;
const gflops = (card.flopsPerTile * tilesPerFrame * framesPerSec) / 1e9;
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));
console.log(`full path (decode → tiles → run → stitch → score → regions → map PNG): ${framesPerSec.toFixed(3)} frames/s (median of ${reps})`);
console.log(`bare session.run on the same batches:                            ${bareFramesPerSec.toFixed(3)} frames/s`);
console.log(`ratio ${ratio.toFixed(3)} (target ≥ 0.97); ${gflops.toFixed(2)} GFLOP/s achieved (bare: ${((card.flopsPerTile * tilesPerFrame * bareFramesPerSec) / 1e9).toFixed(2)}), ${card.name}@${card.version}, ${threads} threads`);
const cpuPerFrame = { full: (cpu.full * 1000) / (frameCount * reps), bare: (cpu.bare * 1000) / (frameCount * reps) };
console.log(
  `CPU per frame (all threads): full ${cpuPerFrame.full.toFixed(0)} ms, bare ${cpuPerFrame.bare.toFixed(0)} ms — the engine adds ${(cpuPerFrame.full - cpuPerFrame.bare).toFixed(0)} ms (CPU ratio ${(cpuPerFrame.bare / cpuPerFrame.full).toFixed(3)}); on a loaded machine this is steadier than the wall-clock ratio`,
);
const summary = { bench: 'inference', framesPerSec: round(framesPerSec), bareFramesPerSec: round(bareFramesPerSec), ratio: round(ratio), gflops: round(gflops, 2) };
if (values.record) {
  const record = {
    ...summary,
    model: `${card.name}@${card.version}`,
    msPerFrame: round(1000 / framesPerSec, 0),
    bareMsPerFrame: round(1000 / bareFramesPerSec, 0),
    threads,
    frames: frameCount,
    reps,
    cpu: cpus()[0]?.model ?? 'unknown',
    cpuFlags: vectorFlags(),
    loadAverageAtStart: round(loadAtStart, 2),
    measuredAt: new Date().toISOString(),
  };
  writeFileSync(join(versionDir, 'eval', 'speed.json'), `${JSON.stringify(record, null, 1)}\n`);
  progress(`recorded in ${join(versionDir, 'eval', 'speed.json')}`);
}
console.log(JSON.stringify(summary));
