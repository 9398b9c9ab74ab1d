import { performance } from 'node:perf_hooks';
import { LoomwatchError, type InputStats, type ModelCard, type Region, type VerdictKind } from '@loomwatch/contracts';
import type { ModelSource } from '@loomwatch/model-registry';
import { decodeGray, encodeOverlay, normalizeScore, type GrayImage, type OverlayOptions } from '@loomwatch/overlay';
import { findRegions, regionScratch, type RegionScratch } from './core/regions.js';
import { rowMaxima } from './core/row-maxima.js';
import { calibrationFor, routeFor, verdictFor, type Calibration } from './core/scoring.js';
import { smoothedMax, smoothingScratch, type SmoothingScratch } from './core/smoothing.js';
import { inputStats } from './core/stats.js';
import { Stitcher } from './core/stitch.js';
import { fillTileBatch, inputLut, planTiles, type TilePlan } from './core/tiling.js';
import { encodeMapPng } from './image/render.js';
import { loadOnnxModel, type LoadedModel } from './model/load.js';
import { InferenceConfig, type InferenceConfigInput } from './options.js';
import { BufferPool } from './pools.js';

/**
 * Glossary — tile: a T × T window of the frame fed to the model · anomaly map: per-pixel
 * anomaly probability at frame resolution, stitched from tiles · score: max of the map after
 * the card's k × k mean filter · calibration: the card's thresholds for the frame's fabric (or
 * pooled), at the false-alarm rate asked for when the card has operating points · verdict:
 * `defect` iff score ≥ the image threshold in force · normalised score: the score on a scale
 * where that threshold is 0.5 · region: an 8-connected area of the unsmoothed map ≥ the pixel
 * threshold in force (never above the image threshold) · route: the index a card with `routing`
 * feeds its graph beside the tiles (a per-fabric memory bank), from the frame's fabric.
 */
export interface InferenceTimings {
  /** Decoding the image bytes (0 for an already decoded frame). */
  decodeMs: number;
  /** The model's time on the frame's batches, each from when it could start (submitted, and the previous run done) to its result. */
  inferMs: number;
  /** The engine's CPU work: tiling, stitching, smoothing, scoring, regions, input statistics. */
  postMs: number;
  /** Wall time of the `infer` call, including any wait for the model while other frames run. */
  totalMs: number;
}

export interface InferenceResult {
  width: number;
  height: number;
  score: number;
  normalizedScore: number;
  threshold: number;
  /** The thresholds and normalisation this frame was judged by (its fabric's, or the pooled ones, at a false-alarm rate). */
  calibration: Calibration;
  /** The index fed to a routed model (`card.routing`); undefined for a model that does not route. */
  route: number | undefined;
  verdict: VerdictKind;
  regions: Region[];
  inputStats: InputStats;
  /**
   * The anomaly map, `width × height`, row-major. The caller's until it hands it back with
   * `engine.release(result)` (then a later frame reuses it and this is emptied); never overwritten before.
   */
  map: Float32Array;
  /** The decoded 8-bit frame (kept for the overlay). */
  frame: GrayImage;
  model: { name: string; version: string; sha256: string };
  timings: InferenceTimings;
}

export interface LoadEngineOptions extends InferenceConfigInput {
  /** `name@version`, `name` (the registry's production version), or `{ dir }`, a version directory. */
  model: ModelSource;
}

interface PostScratch {
  smoothing: SmoothingScratch;
  regions: RegionScratch;
  /** Each map row's maximum: the score without smoothing, and which rows can hold a region. */
  rowMax: Float32Array;
}

const MAX_CACHED_SIZES = 4;

/** What a released result's `map` becomes, so a read after release finds nothing rather than a later frame's map. */
const RELEASED_MAP = new Float32Array(0);

function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * Tiled DRAEM inference over frames of any size ≥ one tile. Safe to call concurrently: the
 * model queues the runs, so with two frames in flight one frame's decoding and post-processing
 * overlap the other's `session.run` (which runs in the model's worker thread). Work buffers —
 * one batch buffer per batch in flight, smoothing and region scratch per frame size — are pooled.
 */
export class InferenceEngine {
  readonly config: InferenceConfig;
  readonly tileSize: number;
  readonly stride: number;
  readonly batchSize: number;
  private readonly lut: Float32Array;
  /** When the model last finished a run: a new run starts at its submission or then, whichever is later. */
  private lastSettled = 0;
  private readonly batches: BufferPool<Float32Array>;
  private readonly outputs: BufferPool<Float32Array>;
  private readonly colScratch: Int32Array;
  private readonly plans = new Map<string, TilePlan>();
  private readonly scratch = new Map<string, BufferPool<PostScratch>>();
  /** Anomaly maps handed back with `release`, by frame size: a 4096 × 256 map is 4 MB, and allocating one per frame drove V8's full collections. */
  private readonly maps = new Map<string, BufferPool<Float32Array>>();
  /** The maps of results handed out and not yet released: only these are taken back (so a map is never pooled twice). */
  private readonly lent = new WeakSet<Float32Array>();

  private constructor(
    readonly loaded: LoadedModel,
    config: InferenceConfig,
  ) {
    const { card } = loaded;
    this.config = config;
    this.tileSize = card.input.tileSize;
    this.stride = config.stride ?? this.tileSize;
    if (this.stride > this.tileSize) {
      throw new LoomwatchError('CONFIG_INVALID', `inference.stride ${this.stride} is larger than the model's tile (${this.tileSize}): tiles would leave gaps — use a stride ≤ ${this.tileSize}`);
    }
    this.batchSize = Math.min(config.maxBatch, loaded.batchLimit);
    this.lut = inputLut(card.input.scale, card.input.offset);
    const batchLength = this.batchSize * this.tileSize * this.tileSize;
    // Shared memory: the model's worker thread reads the tiles without a copy on this side.
    this.batches = new BufferPool(() => new Float32Array(new SharedArrayBuffer(batchLength * Float32Array.BYTES_PER_ELEMENT)));
    const outputLength = batchLength * card.output.channels;
    this.outputs = new BufferPool(() => new Float32Array(new SharedArrayBuffer(outputLength * Float32Array.BYTES_PER_ELEMENT)));
    this.colScratch = new Int32Array(this.tileSize);
  }

  /** Loads a model from the registry (see `loadOnnxModel`) and builds an engine around it. */
  static async load(options: LoadEngineOptions): Promise<InferenceEngine> {
    const { model, ...rest } = options;
    const config = InferenceEngine.parseConfig(rest);
    return new InferenceEngine(await loadOnnxModel(model, config), config);
  }

  /** An engine around an already loaded model (any `Model` adapter). */
  static create(loaded: LoadedModel, options: InferenceConfigInput = {}): InferenceEngine {
    return new InferenceEngine(loaded, InferenceEngine.parseConfig(options));
  }

  private static parseConfig(options: InferenceConfigInput): InferenceConfig {
    const parsed = InferenceConfig.safeParse(options);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `inference.${i.path.join('.')}: ${i.message}`).join('; ');
      throw new LoomwatchError('CONFIG_INVALID', `invalid inference options — ${issues}`);
    }
    return parsed.data;
  }

  get card(): ModelCard {
    return this.loaded.card;
  }

  /** False once the engine is closed or its onnxruntime worker died: reload it. */
  get usable(): boolean {
    return this.loaded.model.usable;
  }

  /**
   * Infers one frame: encoded image bytes, or an already decoded 8-bit grey frame. With a fabric code
   * the card's calibration for that fabric applies when it has one (`postprocess.fabrics`), and a
   * routed model (`card.routing`) runs the fabric's part. With a false-alarm rate the calibration's
   * threshold for that rate applies when it has operating points (see `calibrationFor`).
   */
  async infer(input: Uint8Array | GrayImage, what = 'the image', fabricCode?: string, falseAlarmRate?: number): Promise<InferenceResult> {
    const start = performance.now();
    const frame = input instanceof Uint8Array ? await this.decode(input, what) : this.checkGray(input, what);
    const decoded = performance.now();
    const { width, height } = frame;
    const plan = this.planFor(width, height);
    const mapPool = this.mapPoolFor(width, height);
    const stitcher = new Stitcher(plan, mapPool.acquire());
    let inferMs = 0;
    let postMs = 0;
    const card = this.card;
    const calibration = calibrationFor(card.postprocess, fabricCode, falseAlarmRate);
    const route = routeFor(card.routing, fabricCode);
    const t = this.tileSize;
    const plane = t * t;
    const channelOffset = card.output.anomalyChannel * plane;
    const tileStride = card.output.channels * plane;
    const total = plan.xs.length;

    // Batch b+1 is filled while batch b runs. Runs are handed to the model as soon as they are
    // filled, so it can start the next one without waiting for this thread to come round.
    type Pending = { first: number; count: number; buffer: Float32Array; into: Float32Array; output: Promise<Float32Array> };
    const inFlight: Pending[] = [];
    const submit = (first: number): void => {
      const count = Math.min(this.batchSize, total - first);
      const buffer = this.batches.acquire();
      const began = performance.now();
      fillTileBatch(frame.data, plan, first, count, this.lut, buffer, this.colScratch);
      postMs += performance.now() - began;
      const into = this.outputs.acquire();
      const submitted = performance.now();
      const settle = (): void => {
        const settled = performance.now();
        inferMs += settled - Math.max(submitted, this.lastSettled);
        this.lastSettled = settled;
      };
      const output = this.loaded.model.run(buffer, count, into, route).then(
        (out) => {
          settle();
          return out;
        },
        (err: unknown) => {
          settle();
          throw err;
        },
      );
      // Awaited in order below; until then a failure must not count as an unhandled rejection.
      void output.catch(() => undefined);
      inFlight.push({ first, count, buffer, into, output });
    };
    const collect = async (): Promise<void> => {
      const next = inFlight.shift();
      if (next === undefined) return;
      try {
        const output = await next.output;
        const began = performance.now();
        for (let k = 0; k < next.count; k++) stitcher.add(next.first + k, output, k * tileStride + channelOffset);
        postMs += performance.now() - began;
      } finally {
        this.batches.release(next.buffer);
        this.outputs.release(next.into);
      }
    };
    try {
      for (let first = 0; first < total; first += this.batchSize) {
        submit(first);
        if (inFlight.length > 1) await collect();
      }
      while (inFlight.length > 0) await collect();
    } catch (err) {
      await Promise.allSettled(inFlight.map((p) => p.output));
      for (const p of inFlight.splice(0)) {
        this.batches.release(p.buffer);
        this.outputs.release(p.into);
      }
      mapPool.release(stitcher.map);
      throw err;
    }

    const postStart = performance.now();
    const map = stitcher.finish();
    const pool = this.scratchFor(width, height);
    const scratch = pool.acquire();
    let score: number;
    let regions: Region[];
    try {
      const k = card.postprocess.smoothingKernel;
      // One pass gives the unsmoothed score, the NaN check and the rows a region can start in.
      const peak = rowMaxima(map, width, height, scratch.rowMax);
      score = Number.isNaN(peak) || k === 1 ? peak : smoothedMax(map, width, height, k, scratch.smoothing);
      if (Number.isNaN(score)) {
        throw new LoomwatchError('MODEL_RUN_FAILED', `the model produced NaN or infinite anomaly values for ${what}: the model or its export is broken — do not trust its verdicts`);
      }
      regions = findRegions(
        map,
        width,
        height,
        { threshold: calibration.pixelThreshold, minArea: this.config.minRegionArea, maxRegions: this.config.maxRegions, rowMaxima: scratch.rowMax },
        scratch.regions,
      );
    } catch (err) {
      mapPool.release(map);
      throw err;
    } finally {
      pool.release(scratch);
    }
    this.lent.add(map);
    const stats = inputStats(frame.data);
    const threshold = calibration.imageThreshold;
    const end = performance.now();
    postMs += end - postStart;
    return {
      width,
      height,
      score,
      normalizedScore: normalizeScore(score, threshold, calibration.normalization),
      threshold,
      calibration,
      route,
      verdict: verdictFor(score, threshold),
      regions,
      inputStats: stats,
      map,
      frame,
      model: { name: card.name, version: card.version, sha256: card.onnx.sha256 },
      timings: { decodeMs: roundMs(decoded - start), inferMs: roundMs(inferMs), postMs: roundMs(postMs), totalMs: roundMs(end - start) },
    };
  }

  /** Decodes image bytes to 8-bit grey under this engine's limits (typed IMAGE_* errors). */
  decode(bytes: Uint8Array, what = 'the image'): Promise<GrayImage> {
    return decodeGray(bytes, { limitInputPixels: this.config.limitInputPixels, colour: this.config.colour, minSide: this.tileSize }, what);
  }

  /**
   * Takes `result`'s anomaly map back, for a later frame of the same size to stitch into instead of
   * allocating one, and empties `result.map`. Call it once nothing reads the map any more (its PNG
   * encoded, its overlay drawn); a map kept is never overwritten. Releasing twice, or a result of
   * another engine, does nothing.
   */
  release(result: InferenceResult): void {
    const map = result.map;
    if (!this.lent.delete(map)) return;
    result.map = RELEASED_MAP;
    this.mapPoolFor(result.width, result.height).release(map);
  }

  /** The anomaly map as an 8-bit greyscale PNG (0–255 ↔ 0–1) at the frame's resolution. */
  renderAnomalyMapPng(result: InferenceResult): Promise<Buffer> {
    return encodeMapPng(result.map, result.width, result.height, this.config.pngCompressionLevel);
  }

  /** The frame with the map as heat colour where it is high and the regions outlined. */
  renderOverlay(result: InferenceResult, options: OverlayOptions = {}): Promise<Buffer> {
    const { pixelThreshold, normalization } = result.calibration;
    return encodeOverlay(result.frame, result.map, result.regions, { pixelThreshold, normalization }, { pngCompressionLevel: this.config.pngCompressionLevel, ...options });
  }

  /** Closes the model once the runs already handed to it have finished. */
  async close(): Promise<void> {
    await this.loaded.model.close();
  }

  private checkGray(image: GrayImage, what: string): GrayImage {
    const { width, height, data } = image;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || data.length !== width * height) {
      throw new LoomwatchError('IMAGE_DIMENSIONS_MISMATCH', `${what} has ${data.length} bytes, not ${width}×${height} 8-bit pixels: pass the frame's real width and height`);
    }
    if (width * height > this.config.limitInputPixels) {
      throw new LoomwatchError('IMAGE_TOO_LARGE', `${what} is ${width}×${height}, more than limitInputPixels (${this.config.limitInputPixels})`);
    }
    if (width < this.tileSize || height < this.tileSize) {
      throw new LoomwatchError('IMAGE_TOO_SMALL', `${what} is ${width}×${height}, smaller than one ${this.tileSize}×${this.tileSize} tile: send whole frames`);
    }
    return image;
  }

  private planFor(width: number, height: number): TilePlan {
    const key = `${width}x${height}`;
    let plan = this.plans.get(key);
    if (plan === undefined) {
      if (this.plans.size >= MAX_CACHED_SIZES) this.plans.clear();
      plan = planTiles(width, height, this.tileSize, this.stride);
      this.plans.set(key, plan);
    }
    return plan;
  }

  private mapPoolFor(width: number, height: number): BufferPool<Float32Array> {
    const key = `${width}x${height}`;
    let pool = this.maps.get(key);
    if (pool === undefined) {
      if (this.maps.size >= MAX_CACHED_SIZES) this.maps.clear();
      pool = new BufferPool(() => new Float32Array(width * height));
      this.maps.set(key, pool);
    }
    return pool;
  }

  private scratchFor(width: number, height: number): BufferPool<PostScratch> {
    // By shape, not pixel count: the smoothing scratch is sized by the width, the row maxima by the height.
    const key = `${width}x${height}`;
    let pool = this.scratch.get(key);
    if (pool === undefined) {
      if (this.scratch.size >= MAX_CACHED_SIZES) this.scratch.clear();
      pool = new BufferPool(() => ({ smoothing: smoothingScratch(width, height), regions: regionScratch(width, height), rowMax: new Float32Array(height) }));
      this.scratch.set(key, pool);
    }
    return pool;
  }
}
