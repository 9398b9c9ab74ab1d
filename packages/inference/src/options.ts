import { z } from 'zod';
import { DEFAULT_REGISTRY_ROOT, Precision } from '@loomwatch/model-registry';

export const GraphOptimizationLevel = z.enum(['disabled', 'basic', 'extended', 'all']);
export type GraphOptimizationLevel = z.infer<typeof GraphOptimizationLevel>;

/**
 * The `inference` config section (YAML / environment / flags, validated at start). Services
 * embed it in their own schema; the `infer` command builds it from its flags.
 */
export const InferenceConfig = z.strictObject({
  /** Directory holding `<name>/<version>/model.json` and `<name>/production.json`. @defaultValue '<repo>/models/registry' */
  registryRoot: z.string().min(1).default(DEFAULT_REGISTRY_ROOT),
  /**
   * Which precision the live worker serves for a version it is asked to run: `auto` runs the version's
   * INT8 variant (a registry sibling whose card's `quantization.parent` names it) when the CPU has VNNI
   * (avx512_vnni or avx_vnni) and the card records an image-AUROC loss ≤ 0.01 and a speed-up > 1, else the FP32 version;
   * `fp32` never substitutes; `int8` always does (and refuses a version without a variant). Verdicts
   * name the version that ran. Replays and `infer` run the version they name. @defaultValue 'auto'
   */
  precision: Precision.default('auto'),
  /** Tile stride in pixels; smaller than the tile size makes tiles overlap (averaged). @defaultValue the card's tile size */
  stride: z.int().positive().optional(),
  /** Most tiles per `session.run`. @defaultValue 16 (one 4096 × 256 frame) */
  maxBatch: z.int().min(1).max(1024).default(16),
  /** onnxruntime intra-op threads; 0 lets onnxruntime choose (one per core). @defaultValue 0 */
  intraOpNumThreads: z.int().nonnegative().default(0),
  /** onnxruntime inter-op threads (the graph is sequential). @defaultValue 1 */
  interOpNumThreads: z.int().positive().default(1),
  /**
   * Let onnxruntime's intra-op threads spin between operators instead of sleeping. Spinning
   * buys a little latency on an idle machine and burns CPU that decoding, post-processing
   * and neighbours need on a busy one. @defaultValue false
   */
  intraOpSpinning: z.boolean().default(false),
  /**
   * CPUs the model's onnxruntime threads run on (a Linux CPU list: `1-3`, `0,2`); every other thread
   * of the process (decoding, the anomaly map, S3, Kafka, V8's collector) runs on the CPUs it may
   * use besides these, so the model runs at bare `session.run` speed while the rest overlaps it. Give
   * `intraOpNumThreads` as many threads as CPUs here. `auto`: every CPU the process may use but the
   * first (for a container whose cpuset is not known in advance). Linux only (taskset, util-linux).
   * @defaultValue unset: every thread may run on every CPU
   */
  modelCpus: z.string().min(1).optional(),
  /** @defaultValue 'all' */
  graphOptimizationLevel: GraphOptimizationLevel.default('all'),
  /** Execution providers in order of preference; only the CPU one ships with this build. @defaultValue ['cpu'] */
  executionProviders: z.array(z.enum(['cpu'])).min(1).default(['cpu']),
  /** Images with more pixels are refused before decoding (decompression bombs). @defaultValue 33554432 (8192 × 4096) */
  limitInputPixels: z.int().positive().default(8192 * 4096),
  /** RGB / alpha / 16-bit input: `'reject'` it with a typed error, or `'convert'` it to 8-bit grey. @defaultValue 'reject' */
  colour: z.enum(['reject', 'convert']).default('reject'),
  /** Regions with fewer pixels are dropped. @defaultValue 16 */
  minRegionArea: z.int().positive().default(16),
  /** At most this many regions per frame, the highest-scoring first (the Verdict allows 256). @defaultValue 256 */
  maxRegions: z.int().min(0).max(256).default(256),
  /** zlib level of the anomaly-map and overlay PNGs; 1 is several times faster than 6 for ~1.5× the bytes. @defaultValue 1 */
  pngCompressionLevel: z.int().min(0).max(9).default(1),
});
export type InferenceConfig = z.infer<typeof InferenceConfig>;
export type InferenceConfigInput = z.input<typeof InferenceConfig>;
