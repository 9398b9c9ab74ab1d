import { InferenceEngine, encodeMapPng, encodeOverlay, type LoadEngineOptions } from '@loomwatch/inference';
import type { ModelRef } from '@loomwatch/contracts';
import type { Decision, FrameDecider } from './frame-decider.js';

export interface EngineDeciderOptions extends LoadEngineOptions {
  /** @defaultValue 'jpeg' — a tenth of the PNG's size for a picture people look at. */
  overlayFormat?: 'jpeg' | 'png';
}

/** The worker's `FrameDecider` over the tiled inference engine. */
export class EngineDecider implements FrameDecider {
  readonly model: ModelRef;

  private constructor(
    private readonly engine: InferenceEngine,
    private readonly overlayFormat: 'jpeg' | 'png',
  ) {
    const { name, version, onnx } = engine.card;
    this.model = { name, version, sha256: onnx.sha256 };
  }

  get usable(): boolean {
    return this.engine.usable;
  }

  static async load(options: EngineDeciderOptions): Promise<EngineDecider> {
    const { overlayFormat = 'jpeg', ...engineOptions } = options;
    return new EngineDecider(await InferenceEngine.load(engineOptions), overlayFormat);
  }

  async decide(image: Buffer, fabricCode?: string): Promise<Decision> {
    const result = await this.engine.infer(image, 'the image', fabricCode);
    const renderStart = performance.now();
    const { pixelThreshold, normalization, fabric } = result.calibration;
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
