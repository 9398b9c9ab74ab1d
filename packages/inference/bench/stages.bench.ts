/**
 * `pnpm bench:stages [--model REF] [--frames N] [--reps R] [--registry DIR]`
 *
 * The engine's own work per frame, stage by stage, outside the model: each stage runs alone,
 * R times over N AITEX frames, and is charged the CPU time of the whole process (sharp's threads
 * included) while it runs, so the figures hold on a loaded machine, where wall time does not.
 * The anomaly maps are the model's own (one `infer` per frame first), so region search and the
 * map PNG see real data. Prints one line per stage (CPU ms per frame, median over reps) and, last,
 * one JSON object.
 */
import { readFileSync } from 'node:fs';
import { newCommand, parseOrExit } from '@loomwatch/config';
import { DEFAULT_REGISTRY_ROOT, defaultModel, modelSource } from '@loomwatch/model-registry';
import { aitexFrames } from '@loomwatch/testkit';
import { findRegions, regionScratch } from '../src/core/regions.js';
import { rowMaxima } from '../src/core/row-maxima.js';
import { calibrationFor } from '../src/core/scoring.js';
import { maxOf, smoothedMax, smoothingScratch } from '../src/core/smoothing.js';
import { inputStats } from '../src/core/stats.js';
import { Stitcher } from '../src/core/stitch.js';
import { fillTileBatch, inputLut, planTiles } from '../src/core/tiling.js';
import { encodeMapPng, mapToGray8 } from '../src/image/render.js';
import { InferenceEngine } from '../src/index.js';

const command = newCommand({
  name: 'pnpm bench:stages',
  summary: "CPU time of each of the engine's stages outside the model, per AITEX frame, each stage alone.",
  examples: ['pnpm bench:stages --frames 8 --reps 7'],
})
  .option('--model <ref>', "model version (default: the registry's best-validated production model)")
  .option('--frames <n>', 'AITEX frames', '8')
  .option('--reps <r>', 'repetitions (medians are reported)', '7')
  .option('--registry <dir>', 'registry root', DEFAULT_REGISTRY_ROOT);
parseOrExit(command);
const values = command.opts<{ model?: string; frames: string; reps: string; registry: string }>();
const registryRoot = values.registry;
const modelRef = values.model ?? (await defaultModel(registryRoot)).name;
const frameCount = Number(values.frames);
const reps = Number(values.reps);

const engine = await InferenceEngine.load({ model: modelSource(modelRef), registryRoot, intraOpNumThreads: 1 });
const card = engine.card;
const all = aitexFrames();
const picked = Array.from({ length: frameCount }, (_, i) => all[Math.floor((i * all.length) / frameCount)]?.path ?? '');
const encoded = picked.map((path) => readFileSync(path));
const results = [];
for (const bytes of encoded) results.push(await engine.infer(bytes));
await engine.close();

const t = card.input.tileSize;
const lut = inputLut(card.input.scale, card.input.offset);
const frames = results.map((r) => r.frame);
const maps = results.map((r) => r.map);
const { width, height } = frames[0] ?? { width: 0, height: 0 };
const plan = planTiles(width, height, t, engine.stride);
const tiles = plan.xs.length;
const batch = new Float32Array(tiles * t * t);
const colScratch = new Int32Array(t);
// The model's output planes for each frame, rebuilt from its map (no overlap: each tile's plane is the map's window).
const outputs = maps.map((map) => {
  const out = new Float32Array(tiles * t * t);
  for (let k = 0; k < tiles; k++) {
    const x0 = plan.xs[k] ?? 0;
    const y0 = plan.ys[k] ?? 0;
    for (let ty = 0; ty < t && y0 + ty < height; ty++) {
      const w = Math.min(t, width - x0);
      out.set(map.subarray((y0 + ty) * width + x0, (y0 + ty) * width + x0 + w), k * t * t + ty * t);
    }
  }
  return out;
});
const smoothing = smoothingScratch(width, height);
const regions = regionScratch(width, height);
const rowMax = new Float32Array(height);
const calibration = calibrationFor(card.postprocess);
const regionOptions = { threshold: calibration.pixelThreshold, minArea: engine.config.minRegionArea, maxRegions: engine.config.maxRegions };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/** CPU ms per frame of `stage` over all frames, median over the reps (after one warm-up). */
async function timed(stage: (i: number) => unknown): Promise<number> {
  const per: number[] = [];
  for (let rep = 0; rep <= reps; rep++) {
    const start = process.cpuUsage();
    for (let i = 0; i < frames.length; i++) await stage(i);
    const used = process.cpuUsage(start);
    if (rep > 0) per.push((used.user + used.system) / 1000 / frames.length);
  }
  return median(per);
}

const stages: Record<string, (i: number) => unknown> = {
  decode: (i) => engine.decode(encoded[i] ?? Buffer.alloc(0)),
  tiles: (i) => fillTileBatch(frames[i]?.data ?? new Uint8Array(0), plan, 0, tiles, lut, batch, colScratch),
  stitch: (i) => {
    const stitcher = new Stitcher(plan);
    for (let k = 0; k < tiles; k++) stitcher.add(k, outputs[i] ?? batch, k * t * t);
    return stitcher.finish();
  },
  // As the engine does: one pass for the row maxima (the score when the card does not smooth), then regions from those rows.
  scoreRegions: (i) => {
    const map = maps[i] ?? batch;
    const peak = rowMaxima(map, width, height, rowMax);
    const k = card.postprocess.smoothingKernel;
    const score = k === 1 ? peak : smoothedMax(map, width, height, k, smoothing);
    return [score, findRegions(map, width, height, { ...regionOptions, rowMaxima: rowMax }, regions)];
  },
  // As the engine did before: a finiteness pass and a max pass (or the filter), then every pixel scanned for a region.
  scoreRegionsBefore: (i) => {
    const map = maps[i] ?? batch;
    const k = card.postprocess.smoothingKernel;
    let score: number;
    if (k === 1) {
      score = maxOf(map);
      for (let p = 0; p < map.length; p++) if (!Number.isFinite(map[p])) score = NaN;
    } else {
      score = smoothedMax(map, width, height, k, smoothing);
    }
    return [score, findRegions(map, width, height, regionOptions, regions)];
  },
  stats: (i) => inputStats(frames[i]?.data ?? new Uint8Array(0)),
  mapToGray8: (i) => mapToGray8(maps[i] ?? batch),
  mapPng: (i) => encodeMapPng(maps[i] ?? batch, width, height, engine.config.pngCompressionLevel),
};
const figures: Record<string, number> = {};
process.stderr.write(`bench:stages — ${card.name}@${card.version}, ${frameCount} frames ${width}×${height}, ${tiles} tiles, ${reps} reps\n`);
for (const [name, stage] of Object.entries(stages)) {
  figures[name] = Number((await timed(stage)).toFixed(2));
  console.log(`${name.padEnd(12)} ${figures[name]?.toFixed(2)} CPU ms/frame`);
}
const total = Object.entries(figures)
  .filter(([name]) => !['mapToGray8', 'scoreRegionsBefore'].includes(name))
  .reduce((sum, [, ms]) => sum + ms, 0);
console.log(`total        ${total.toFixed(2)} CPU ms/frame (mapToGray8 is inside mapPng; scoreRegionsBefore, the old way, is not counted)`);
console.log(JSON.stringify({ bench: 'stages', model: `${card.name}@${card.version}`, ...figures, total: Number(total.toFixed(2)) }));
