import type { InputStats, ModelRef, Region, VerdictKind } from '@loomwatch/contracts';
import { InferenceEngine, type LoadEngineOptions } from './engine.js';
import { encodeMapPng, encodeOverlay } from './image/render.js';

/** What the model concluded about one image, with its pictures ready to store. */
export interface Decision {
  width: number;
  height: number;
  score: number;
  normalizedScore: number;
  threshold: number;
  /** Set when the threshold was the frame's fabric's calibrated one rather than the pooled one. */
  calibratedFabric?: string;
  /** The false-alarm rate whose threshold applied; absent when the model's card has no operating points. */
  falseAlarmRate?: number;
  verdict: VerdictKind;
  regions: Region[];
  inputStats: InputStats;
  /** 8-bit grayscale PNG of the anomaly map at the image's resolution. */
  anomalyMapPng: Buffer;
  /** The frame with the map blended in and region boxes drawn. */
  overlay: { body: Buffer; contentType: 'image/jpeg' | 'image/png'; extension: 'jpg' | 'png' };
  timings: Record<string, number>;
}

/**
 * One loaded model version as the frame pipeline and the inference API see it: image bytes in, a decision out. Image
 * problems are permanent `LoomwatchError`s (IMAGE_*). `EngineDecider` below is the real one;
 * tests put a table in its place.
 */
export interface Decider {
  readonly model: ModelRef;
  /**
   * `fabricCode`: the frame's product.fabricCode, for models calibrated (or routed) per fabric;
   * `falseAlarmRate`: the deployment's rate for the frame (absent: the card's default).
   */
  decide(image: Buffer, fabricCode?: string, falseAlarmRate?: number): Promise<Decision>;
  close(): Promise<void>;
  /** False once the decider can no longer decide (closed, or its model runtime died). */
  readonly usable: boolean;
}

export interface EngineDeciderOptions extends LoadEngineOptions {
  /** @defaultValue 'jpeg' — a tenth of the PNG's size for a picture people look at. */
  overlayFormat?: 'jpeg' | 'png';
}

/** The `Decider` over the tiled inference engine, rendering the anomaly map and the overlay. */
export class EngineDecider implements Decider {
  readonly model: ModelRef;

  private constructor(
    private readonly engine: InferenceEngine,
    private readonly overlayFormat: 'jpeg' | 'png',
  ) {
    const { name, version, onnx, quantization } = engine.card;
    this.model = { name, version, sha256: onnx.sha256, precision: quantization?.precision ?? 'fp32' };
  }

  get usable(): boolean {
    return this.engine.usable;
  }

  static async load(options: EngineDeciderOptions): Promise<EngineDecider> {
    const { overlayFormat = 'jpeg', ...engineOptions } = options;
    return new EngineDecider(await InferenceEngine.load(engineOptions), overlayFormat);
  }

  async decide(image: Buffer, fabricCode?: string, falseAlarmRate?: number): Promise<Decision> {
    const result = await this.engine.infer(image, 'the image', fabricCode, falseAlarmRate);
    const renderStart = performance.now();
    const { pixelThreshold, normalization, fabric, falseAlarmRate: rate } = result.calibration;
    const [anomalyMapPng, overlay] = await Promise.all([
      encodeMapPng(result.map, result.width, result.height, this.engine.config.pngCompressionLevel),
      encodeOverlay(
        result.frame,
        result.map,
        result.regions,
        { pixelThreshold, normalization },
        { format: this.overlayFormat, pngCompressionLevel: this.engine.config.pngCompressionLevel },
      ),
    ]);
    const jpeg = this.overlayFormat === 'jpeg';
    return {
      width: result.width,
      height: result.height,
      score: result.score,
      normalizedScore: result.normalizedScore,
      threshold: result.threshold,
      ...(fabric === null ? {} : { calibratedFabric: fabric }),
      ...(rate === null ? {} : { falseAlarmRate: rate }),
      verdict: result.verdict,
      regions: result.regions,
      inputStats: result.inputStats,
      anomalyMapPng,
      overlay: { body: overlay, contentType: jpeg ? 'image/jpeg' : 'image/png', extension: jpeg ? 'jpg' : 'png' },
      timings: {
        decodeMs: result.timings.decodeMs,
        inferMs: result.timings.inferMs,
        postMs: result.timings.postMs,
        renderMs: performance.now() - renderStart,
      },
    };
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}
