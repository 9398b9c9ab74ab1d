/**
 * `tsx --conditions=@loomwatch/source packages/inference/bench/frame-cpu.bench.ts [--model REF] [--frames N] [--reps R] [--baseline DIR]`
 *
 * The engine's fixed CPU per frame outside the model, as the worker spends it with on-request
 * overlays: decode → tiles → (model) → stitch → score → regions → statistics → map PNG with the
 * overlay recipe. The model is replaced by one that hands back the real model's outputs for each
 * frame (recorded first, one real `infer` per frame), so only the engine's own work is counted:
 * process CPU, CPU by thread (main, libuv/libvips `image`, V8's `v8` helpers) and the main isolate's
 * garbage collections (perf_hooks 'gc' entries: count, ms, and how many were full mark-compacts).
 *
 * Variants run in blocks of N frames, alternating (and reversing the order every rep), in one
 * process, so a machine whose load drifts favours none:
 *  - `now, map kept`: this engine, the map never released (as before pooling: a new 4 MB map per frame), `withOverlayRecipe`;
 *  - `now, map released`: the same, the map handed back (`engine.release`) once the PNG is encoded, as `EngineDecider` does;
 *  - `baseline` (with `--baseline DIR`): the engine of another checkout, e.g. an older commit unpacked with
 *    `git archive <rev> packages/inference/src packages/overlay/src | tar -x -C DIR` (its `@loomwatch/overlay`
 *    imports pointed at DIR's copy), driven the same way (no release, `withOverlayRecipe`).
 * Prints one line per variant (medians over reps, per frame) and, last, one JSON object.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { newCommand, parseOrExit } from '@loomwatch/config';
import { DEFAULT_REGISTRY_ROOT, defaultModel, modelSource } from '@loomwatch/model-registry';
import { overlayRecipe, withOverlayRecipe, type OverlayStyleRecipe } from '@loomwatch/overlay';
import { aitexFrames } from '@loomwatch/testkit';
import { planTiles } from '../src/core/tiling.js';
import { encodeMapPng, InferenceEngine, type Model } from '../src/index.js';

const command = newCommand({
  name: 'frame-cpu.bench.ts',
  summary: "The engine's fixed CPU and garbage collection per frame outside the model, variants alternating in one run.",
  examples: ['tsx --conditions=@loomwatch/source packages/inference/bench/frame-cpu.bench.ts --frames 8 --reps 9'],
})
  .option('--model <ref>', "model version (default: the registry's best-validated production model)")
  .option('--frames <n>', 'AITEX frames per block', '8')
  .option('--reps <r>', 'blocks per variant (medians are reported)', '9')
  .option('--registry <dir>', 'registry root', DEFAULT_REGISTRY_ROOT)
  .option('--baseline <dir>', "another checkout's packages/ directory holding inference/src and overlay/src, run as the `baseline` variant");
parseOrExit(command);
const values = command.opts<{ model?: string; frames: string; reps: string; registry: string; baseline?: string }>();
const registryRoot = values.registry;
const modelRef = values.model ?? (await defaultModel(registryRoot)).name;
const frameCount = Number(values.frames);
const reps = Number(values.reps);

const all = aitexFrames();
const picked = Array.from({ length: frameCount }, (_, i) => all[Math.floor((i * all.length) / frameCount)]?.path ?? '');
const encoded = picked.map((path) => readFileSync(path));

// The real model's outputs for each frame, tile by tile, recorded once.
const real = await InferenceEngine.load({ model: modelSource(modelRef), registryRoot, intraOpNumThreads: 1 });
const card = real.card;
const t = card.input.tileSize;
const plane = t * t;
const recorded: Float32Array[] = [];
const scores: number[] = [];
for (const bytes of encoded) {
  const result = await real.infer(bytes);
  scores.push(result.score);
  const { width, height, map } = result;
  const plan = planTiles(width, height, t, real.stride);
  // channels × T² per tile, the anomaly channel filled from the map (no overlap at the default stride).
  const out = new Float32Array(plan.xs.length * card.output.channels * plane);
  for (let k = 0; k < plan.xs.length; k++) {
    const x0 = plan.xs[k] ?? 0;
    const y0 = plan.ys[k] ?? 0;
    const base = (k * card.output.channels + card.output.anomalyChannel) * plane;
    for (let ty = 0; ty < t && y0 + ty < height; ty++) out.set(map.subarray((y0 + ty) * width + x0, (y0 + ty) * width + x0 + Math.min(t, width - x0)), base + ty * t);
  }
  recorded.push(out);
}
await real.close();

/** Hands back frame `frame`'s recorded outputs, batch after batch (frames run one at a time here). */
class ReplayModel implements Model {
  frame = 0;
  private next = 0;
  readonly usable = true;
  start(frame: number): void {
    this.frame = frame;
    this.next = 0;
  }
  run(_batch: Float32Array, n: number, output?: Float32Array): Promise<Float32Array> {
    const tile = card.output.channels * plane;
    const src = (recorded[this.frame] ?? new Float32Array(0)).subarray(this.next * tile, (this.next + n) * tile);
    this.next += n;
    const into = output ?? new Float32Array(n * tile);
    into.set(src);
    return Promise.resolve(into);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const loaded = (model: Model): { card: typeof card; dir: string; model: Model; batchLimit: number } => ({ card, dir: '', model, batchLimit: Infinity });
const STYLE: OverlayStyleRecipe = { colour: 'reject', pixelThreshold: 0.5, normalization: { min: 0, max: 1 }, format: 'jpeg', jpegQuality: 85, pngCompressionLevel: 1 };
const FRAME_REF = { bucket: 'frames', key: 'frames/line-1/cam-1/000001.png', sha256: 'a'.repeat(64) };

interface Variant {
  name: string;
  model: ReplayModel;
  frame(bytes: Buffer): Promise<{ score: number; png: Buffer }>;
}

function nowVariant(name: string, mode: 'kept' | 'released'): Variant {
  const model = new ReplayModel();
  const engine = InferenceEngine.create(loaded(model));
  const level = engine.config.pngCompressionLevel;
  return {
    name,
    model,
    async frame(bytes) {
      const result = await engine.infer(bytes);
      const recipe = overlayRecipe(STYLE, FRAME_REF, result.regions);
      const png = withOverlayRecipe(await encodeMapPng(result.map, result.width, result.height, level), recipe);
      if (mode === 'released') engine.release(result);
      return { score: result.score, png };
    },
  };
}

/** The engine of another checkout (`--baseline`), driven as the worker drove it: no release, the recipe spliced in. */
async function baselineVariant(dir: string): Promise<Variant> {
  const index = resolve(dir, 'inference/src/index.ts');
  if (!existsSync(index)) throw new Error(`--baseline ${dir}: no inference/src/index.ts there`);
  type Engine = { infer(b: Buffer): Promise<{ score: number; map: Float32Array; width: number; height: number; regions: { x: number; y: number; width: number; height: number }[] }>; config: { pngCompressionLevel: number } };
  const mod = (await import(index)) as { InferenceEngine: { create(l: unknown): Engine }; encodeMapPng(m: Float32Array, w: number, h: number, level: number): Promise<Buffer> };
  const model = new ReplayModel();
  const engine = mod.InferenceEngine.create(loaded(model));
  return {
    name: 'baseline',
    model,
    async frame(bytes) {
      const result = await engine.infer(bytes);
      const png = withOverlayRecipe(await mod.encodeMapPng(result.map, result.width, result.height, engine.config.pngCompressionLevel), overlayRecipe(STYLE, FRAME_REF, result.regions));
      return { score: result.score, png };
    },
  };
}

const variants: Variant[] = [
  ...(values.baseline === undefined ? [] : [await baselineVariant(values.baseline)]),
  nowVariant('now, map kept', 'kept'),
  nowVariant('now, map released', 'released'),
];

// Garbage collections of this (the main) isolate: count, duration, and the full mark-compacts among them.
const gc = { count: 0, ms: 0, major: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.count++;
    gc.ms += entry.duration;
    // A 'gc' entry's detail says which collection it was (Node's GCPerformanceEntry).
    const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
  }
}).observe({ entryTypes: ['gc'] });

function threadRole(tid: number, name: string): string {
  if (tid === process.pid) return 'main';
  if (name.startsWith('libuv') || name.startsWith('libvips')) return 'image';
  if (name === 'V8Worker') return 'v8';
  return 'other';
}

function roleTicks(): Map<string, number> {
  const ticks = new Map<string, number>();
  if (!existsSync('/proc/self/task')) return ticks;
  for (const entry of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(join('/proc/self/task', entry, 'stat'), 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const role = threadRole(Number(entry), name);
      ticks.set(role, (ticks.get(role) ?? 0) + Number(fields[11]) + Number(fields[12]));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ticks;
}

type Block = { cpu: number; gcCount: number; gcMs: number; gcMajor: number; roles: Map<string, number>; bytes: number };
const blocks = new Map<string, Block[]>(variants.map((v) => [v.name, []]));

async function runBlock(variant: Variant): Promise<Block> {
  const g0 = { ...gc };
  const ticks0 = roleTicks();
  const cpu0 = process.cpuUsage();
  let bytes = 0;
  for (const [i, frame] of encoded.entries()) {
    variant.model.start(i);
    const { score, png } = await variant.frame(frame);
    if (score !== scores[i]) throw new Error(`${variant.name}: frame ${i} scored ${score}, the real model's run ${scores[i]}`);
    bytes += png.length;
  }
  const cpu = process.cpuUsage(cpu0);
  // Let the collector's entries of this block arrive before counting them.
  await new Promise((done) => setTimeout(done, 5));
  const ticks = roleTicks();
  const roles = new Map([...ticks].map(([role, n]) => [role, ((n - (ticks0.get(role) ?? 0)) * 10) / frameCount]));
  return {
    cpu: (cpu.user + cpu.system) / 1000 / frameCount,
    gcCount: (gc.count - g0.count) / frameCount,
    gcMs: (gc.ms - g0.ms) / frameCount,
    gcMajor: (gc.major - g0.major) / frameCount,
    roles,
    bytes: bytes / frameCount,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

const load0 = loadavg();
process.stderr.write(`frame-cpu — ${card.name}@${card.version}, ${frameCount} frames × ${reps} reps per variant, load ${load0.map((l) => l.toFixed(2)).join(' ')}\n`);
for (const v of variants) await runBlock(v); // warm-up
for (let rep = 0; rep < reps; rep++) {
  const order = rep % 2 === 0 ? variants : [...variants].reverse();
  for (const v of order) blocks.get(v.name)?.push(await runBlock(v));
}
const load1 = loadavg();
const summary: Record<string, Record<string, number>> = {};
for (const [name, list] of blocks) {
  const roles = ['main', 'image', 'v8', 'other'].map((role) => [role, median(list.map((b) => b.roles.get(role) ?? 0))] as const);
  const row = {
    cpuMs: median(list.map((b) => b.cpu)),
    gcPerFrame: mean(list.map((b) => b.gcCount)),
    gcMsPerFrame: mean(list.map((b) => b.gcMs)),
    majorGcPerFrame: mean(list.map((b) => b.gcMajor)),
    ...Object.fromEntries(roles.map(([role, ms]) => [`${role}Ms`, ms])),
    pngBytes: Math.round(median(list.map((b) => b.bytes))),
  };
  summary[name] = Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v.toFixed(k.endsWith('PerFrame') ? 3 : 2))]));
  console.log(
    `${name.padEnd(20)} CPU ${row.cpuMs.toFixed(2)} ms/frame (by thread: ${roles.map(([r, ms]) => `${r} ${ms.toFixed(1)}`).join(', ')}); GC ${row.gcPerFrame.toFixed(2)}/frame, ${row.gcMsPerFrame.toFixed(2)} ms/frame, ${row.majorGcPerFrame.toFixed(3)} mark-compacts/frame; PNG ${row.pngBytes} B`,
  );
}
console.log(JSON.stringify({ bench: 'frame-cpu', model: `${card.name}@${card.version}`, frames: frameCount, reps, load: [load0[0], load1[0]].map((l) => Number((l ?? 0).toFixed(2))), ...summary }));
