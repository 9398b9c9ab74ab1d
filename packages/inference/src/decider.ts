import type { InputStats, ModelRef, Region, VerdictKind } from '@loomwatch/contracts';
import { encodeOverlayFromGray8, type OverlayStyleRecipe } from '@loomwatch/overlay';
import { InferenceEngine, type InferenceResult, type LoadEngineOptions } from './engine.js';
import { encodeMapPng, mapToGray8 } from './image/render.js';

/**
 * When overlays are rendered: `per-frame` with every decision (the worker stores it beside the map),
 * `on-request` never by the decider — whoever hands the overlay to a person renders it from the
 * stored map on first request (`@loomwatch/overlay`).
 */
export type OverlayTiming = 'per-frame' | 'on-request';

export interface RenderedOverlayImage {
  body: Buffer;
  contentType: 'image/jpeg' | 'image/png';
  extension: 'jpg' | 'png';
}

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
  /**
   * The frame with the map (as stored: 8-bit) blended in and region boxes drawn; absent when the
   * decider renders overlays `on-request` (then `overlayStyle` is how to render it later).
   */
  overlay?: RenderedOverlayImage;
  /** How this decision's overlay is rendered, now or on request: the heat scale, format and decoding in force. */
  overlayStyle: OverlayStyleRecipe;
  /**
   * decodeMs, inferMs, postMs (the engine's), mapMs (the anomaly map's PNG), and renderMs (the
   * overlay, rendered alongside the map; absent when overlays are rendered on request).
   */
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
  /** @defaultValue 'per-frame' */
  overlays?: OverlayTiming;
}

/** The JPEG quality of overlays. */
const OVERLAY_JPEG_QUALITY = 85;

/** The `Decider` over the tiled inference engine, rendering the anomaly map and (per frame, unless on request) the overlay. */
export class EngineDecider implements Decider {
  readonly model: ModelRef;

  private constructor(
    private readonly engine: InferenceEngine,
    private readonly overlayFormat: 'jpeg' | 'png',
    private readonly overlays: OverlayTiming,
  ) {
    const { name, version, onnx, quantization } = engine.card;
    this.model = { name, version, sha256: onnx.sha256, precision: quantization?.precision ?? 'fp32' };
  }

  get usable(): boolean {
    return this.engine.usable;
  }

  static async load(options: EngineDeciderOptions): Promise<EngineDecider> {
    const { overlayFormat = 'jpeg', overlays = 'per-frame', ...engineOptions } = options;
    return EngineDecider.create(await InferenceEngine.load(engineOptions), { overlayFormat, overlays });
  }

  /** A decider over an engine already built (any `Model` adapter: `InferenceEngine.create`); it closes the engine on `close`. */
  static create(engine: InferenceEngine, options: Pick<EngineDeciderOptions, 'overlayFormat' | 'overlays'> = {}): EngineDecider {
    return new EngineDecider(engine, options.overlayFormat ?? 'jpeg', options.overlays ?? 'per-frame');
  }

  async decide(image: Buffer, fabricCode?: string, falseAlarmRate?: number): Promise<Decision> {
    const result = await this.engine.infer(image, 'the image', fabricCode, falseAlarmRate);
    const { pixelThreshold, normalization, fabric, falseAlarmRate: rate } = result.calibration;
    const { pngCompressionLevel, colour } = this.engine.config;
    const overlayStyle: OverlayStyleRecipe = { colour, pixelThreshold, normalization, format: this.overlayFormat, jpegQuality: OVERLAY_JPEG_QUALITY, pngCompressionLevel };
    const renderStart = performance.now();
    let anomalyMapPng: Buffer;
    let mapMs: number;
    let overlayImage: RenderedOverlayImage | undefined;
    try {
      const mapPng = encodeMapPng(result.map, result.width, result.height, pngCompressionLevel).then((png) => ({ png, ms: performance.now() - renderStart }));
      // Per frame: the overlay from the map as stored (8-bit), so it is the image an on-request render gives.
      const overlay = this.overlays === 'per-frame' ? this.renderOverlay(result.frame, mapToGray8(result.map), result.regions, overlayStyle) : undefined;
      const [encoded, drawn] = await Promise.all([mapPng, overlay]);
      anomalyMapPng = encoded.png;
      mapMs = encoded.ms;
      overlayImage = drawn;
    } finally {
      // Both pictures are drawn: nothing reads the float map any more, and the next frame stitches into it.
      this.engine.release(result);
    }
    const rendered = performance.now();
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
      ...(overlayImage === undefined ? {} : { overlay: overlayImage }),
      overlayStyle,
      timings: {
        decodeMs: result.timings.decodeMs,
        inferMs: result.timings.inferMs,
        postMs: result.timings.postMs,
        mapMs,
        ...(overlayImage === undefined ? {} : { renderMs: rendered - renderStart }),
      },
    };
  }

  private async renderOverlay(frame: InferenceResult['frame'], map8: Uint8Array, regions: Region[], style: OverlayStyleRecipe): Promise<RenderedOverlayImage> {
    const body = await encodeOverlayFromGray8(frame, map8, regions, style, style);
    const jpeg = style.format === 'jpeg';
    return { body, contentType: jpeg ? 'image/jpeg' : 'image/png', extension: jpeg ? 'jpg' : 'png' };
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}
