import type { InputStats, ModelRef, Region, VerdictKind } from '@loomwatch/contracts';

/** What the model concluded about one image, with its pictures ready to store. */
export interface Decision {
  width: number;
  height: number;
  score: number;
  normalizedScore: number;
  threshold: number;
  /** Set when the threshold was the frame's fabric's calibrated one rather than the pooled one. */
  calibratedFabric?: string;
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
 * The model port as the worker sees it: bytes in, a decision out. Image problems are
 * permanent `LoomwatchError`s (IMAGE_*); the adapter over the inference engine lives in
 * `engine-decider.ts`.
 */
export interface FrameDecider {
  readonly model: ModelRef;
  /** `fabricCode`: the frame's product.fabricCode, for models calibrated per fabric. */
  decide(image: Buffer, fabricCode?: string): Promise<Decision>;
  close(): Promise<void>;
  /** False once the decider can no longer decide (closed, or its model runtime died). */
  readonly usable: boolean;
}
