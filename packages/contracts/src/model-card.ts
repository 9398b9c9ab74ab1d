import { z } from 'zod';
import { Id, Sha256, Timestamp } from './primitives.js';

const Metric = z.number().min(0).max(1).nullable();
const Normalization = z.strictObject({ min: z.number().min(0).max(1), max: z.number().min(0).max(1) });

/**
 * The false-alarm rate a calibration's `imageThreshold` stands for when it has `operatingPoints`
 * (the rate a deployment gets when it names none).
 */
export const CARD_FALSE_ALARM_RATE = 0.05;

/**
 * Of the normal frames an operating point was measured on, how many scored at or above its
 * threshold, and the 95 % Clopper–Pearson interval of that rate.
 */
const ObservedFalseAlarms = z
  .strictObject({
    falseAlarms: z.int().nonnegative(),
    frames: z.int().positive(),
    low: z.number().min(0).max(1),
    high: z.number().min(0).max(1),
  })
  .refine((o) => o.falseAlarms <= o.frames, 'falseAlarms must not exceed frames')
  .refine((o) => o.low <= o.high, 'low must not exceed high');

/** One false-alarm rate and the image threshold that gives it on normal frames. */
export const OperatingPoint = z.strictObject({
  /** The share of normal frames the threshold flags, 0 < rate < 1. */
  falseAlarmRate: z.number().gt(0).lt(1),
  imageThreshold: z.number().min(0).max(1),
  observed: ObservedFalseAlarms,
});
export type OperatingPoint = z.infer<typeof OperatingPoint>;

/**
 * Image thresholds for a grid of false-alarm rates, from the normal-score distribution of
 * `frames` normal frames: the engine applies the threshold of the rate a deployment picks
 * (interpolated linearly in log(rate) between points, the first or last point outside the grid).
 */
export const OperatingPoints = z.strictObject({
  /** Normal frames the thresholds were taken from. */
  frames: z.int().positive(),
  /** Which frames, e.g. "out-of-fold training normals + validation normals". */
  source: z.string().min(1).max(500),
  /** Ascending in falseAlarmRate; thresholds therefore non-increasing. */
  points: z
    .array(OperatingPoint)
    .min(1)
    .max(1000)
    .superRefine((points, ctx) => {
      for (let i = 1; i < points.length; i++) {
        const [a, b] = [points[i - 1], points[i]];
        if (a === undefined || b === undefined) continue;
        if (!(b.falseAlarmRate > a.falseAlarmRate)) {
          ctx.addIssue({ code: 'custom', path: [i, 'falseAlarmRate'], message: `must be greater than the previous point's (${a.falseAlarmRate}): points ascend in falseAlarmRate` });
        }
        if (b.imageThreshold > a.imageThreshold) {
          ctx.addIssue({ code: 'custom', path: [i, 'imageThreshold'], message: `must not exceed the previous point's (${a.imageThreshold}): a higher false-alarm rate has a lower threshold` });
        }
      }
    }),
});
export type OperatingPoints = z.infer<typeof OperatingPoints>;

/** Thresholds and normalisation on one fabric's score scale (see `postprocess.fabrics`). */
export const FabricCalibration = z.strictObject({
  imageThreshold: z.number().min(0).max(1),
  pixelThreshold: z.number().min(0).max(1),
  normalization: Normalization,
  /** This fabric's thresholds per false-alarm rate; `imageThreshold` is the 0.05 point. */
  operatingPoints: OperatingPoints.optional(),
});
export type FabricCalibration = z.infer<typeof FabricCalibration>;

const SemVer = z.string().regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, 'a semantic version');

/**
 * How a quantised variant was made from its FP32 parent and what it cost, measured on the
 * validation split and on the CPU named by `cpuFlags`. A worker serves the variant in the parent's
 * place only on a CPU with VNNI and when `aurocLoss` is small enough (see packages/inference).
 */
export const Quantization = z.strictObject({
  /** The FP32 version this one was quantised from, in the same model's registry directory. */
  parent: SemVer,
  precision: z.literal('int8'),
  /** The tool and scheme, e.g. onnxruntime quantize_static, QDQ, per-channel S8 weights, U8 activations. */
  method: z.string().min(1).max(500),
  calibration: z.strictObject({
    method: z.enum(['minmax', 'percentile', 'entropy']),
    /** Tiles run through the parent to collect activation ranges. */
    tiles: z.int().positive(),
    /** Where the tiles came from (never validation frames). */
    source: z.string().min(1).max(500),
    percentile: z.number().gt(0).max(100).optional(),
  }),
  /** Graph nodes left in FP32 (not quantised), by name. */
  fp32Nodes: z.array(z.string().min(1).max(256)).max(1000),
  /** Parent's validation image AUROC minus this version's (positive: the variant is worse). */
  aurocLoss: z.number().min(-1).max(1),
  /** The same for pixel AUROC. */
  pixelAurocLoss: z.number().min(-1).max(1).nullable(),
  /** Milliseconds per 4096 × 256 frame (16 tiles), medians over repetitions alternating the two in one run. */
  msPerFrame: z.strictObject({ int8: z.number().positive(), fp32: z.number().positive() }),
  /** `msPerFrame.fp32 / msPerFrame.int8`. */
  speedup: z.number().positive(),
  /** The vector flags of the CPU the speed was measured on (from /proc/cpuinfo: avx2, avx512_vnni, avx_vnni, …). */
  cpuFlags: z.array(z.string().min(1).max(64)).max(64),
});
export type Quantization = z.infer<typeof Quantization>;

/** What a gate measured on a set of frames, for the parent and the candidate at their own thresholds. */
const GateCounts = z.strictObject({ parent: z.int().nonnegative(), candidate: z.int().nonnegative(), frames: z.int().nonnegative() });

/**
 * Where a version refitted from operators' reviews (`models/lw refit --feedback`) comes from: the
 * version whose banks it extends, the reviewed data set (`loomwatch dataset snapshot`), what of it was
 * used, and the gate that decides whether it may be promoted.
 */
export const Lineage = z.strictObject({
  /** The version whose memory banks, scales and training calibration this one starts from. */
  parent: z.strictObject({ name: Id, version: SemVer }),
  /** The data set's manifest `id` (and the snapshot it extends). */
  snapshot: z.strictObject({ id: Sha256, parent: Sha256.optional() }),
  /** How the reviewed frames were used (free text: bank, calibration, evaluation). */
  method: z.string().min(1).max(1000),
  /** Reviewed frames by use: normals in the banks and calibration, normals and defects held out for the gate. */
  counts: z.strictObject({
    reviewed: z.int().nonnegative(),
    bankNormals: z.int().nonnegative(),
    heldOutNormals: z.int().nonnegative(),
    defects: z.int().nonnegative(),
    heldOutDefects: z.int().nonnegative(),
    /** Memory patches in the banks that came from reviewed frames. */
    patchesAdded: z.int().nonnegative(),
  }),
  gate: z.strictObject({
    passed: z.boolean(),
    /** Why it was refused (empty when it passed). */
    reasons: z.array(z.string().min(1).max(500)).max(20),
    /** Validation image AUROC, on the validation frames not in the data set. */
    validation: z.strictObject({
      parent: z.number().min(0).max(1),
      candidate: z.number().min(0).max(1),
      tolerance: z.number().min(0).max(1),
      frames: z.int().positive(),
    }),
    /** On the held-out half: reviewed normals flagged (false alarms) and reviewed defects flagged. */
    heldOut: z.strictObject({ falseAlarms: GateCounts, detected: GateCounts }),
  }),
});
export type Lineage = z.infer<typeof Lineage>;

/** Pixel intensities of a set of frames, as the worker's per-frame `inputStats` (histogram bin = value >> 4). */
const InputProfile = z.strictObject({
  frames: z.int().positive(),
  /** Mean and population std over all pixels of the frames. */
  mean: z.number().min(0).max(255),
  std: z.number().min(0).max(255),
  /** Std of the per-frame means: how much frames of this reference vary among themselves. */
  frameMeanStd: z.number().min(0).max(255),
  /** The frames' mean 16-bin histogram, as fractions. */
  histogram: z.array(z.number().min(0).max(1)).length(16),
});

/** Frame scores of the validation normals: their deciles (9 interior edges; each decile bin holds 10 %). */
const ScoreProfile = z.strictObject({
  frames: z.int().positive(),
  deciles: z.array(z.number().min(0).max(1)).length(9),
});

/**
 * What a drift monitor compares live frames with (`models/lw reference`): the training frames' input
 * profile and the validation normals' score deciles, pooled and per fabric (scores only where a fabric
 * has enough validation normals).
 */
export const ReferenceProfile = z.strictObject({
  /** The split the frames came from. */
  split: z.string().min(1).max(200),
  input: InputProfile,
  scores: ScoreProfile,
  fabrics: z.record(z.string().min(1).max(32), z.strictObject({ input: InputProfile, scores: ScoreProfile.optional() })).optional(),
});
export type ReferenceProfile = z.infer<typeof ReferenceProfile>;

/** How a version that holds one part per fabric picks the part for a frame (see `ModelCard.routing`). */
export const ModelRouting = z.strictObject({
  /** The graph's second input: int64, shape [1]. */
  input: z.string().min(1).max(256),
  /** Fabric code (FrameEvent.product.fabricCode) → index. */
  fabrics: z.record(z.string().min(1).max(32), z.int().nonnegative()),
  /** The index for a frame with no fabric code or one not in `fabrics`. */
  fallback: z.int().nonnegative(),
});
export type ModelRouting = z.infer<typeof ModelRouting>;

/**
 * The model card, `models/registry/<name>/<version>/model.json`, written by the model
 * pipeline (models/) and read by the inference engine. Field names are shared with Python.
 */
export const ModelCard = z.strictObject({
  schemaVersion: z.literal(1),
  name: Id,
  version: SemVer,
  createdAt: Timestamp,
  description: z.string().max(2000).optional(),
  onnx: z.strictObject({
    file: z.string().regex(/^[^/\\]+\.onnx$/, 'a file name beside model.json'),
    sha256: Sha256,
    bytes: z.int().positive(),
    opset: z.int().positive(),
  }),
  /** What the graph is. The engine never reads it: every family has the same tile contract. */
  architecture: z
    .discriminatedUnion('family', [
      z.strictObject({
        family: z.literal('draem'),
        reconstructiveWidth: z.int().positive(),
        discriminativeWidth: z.int().positive(),
        parameters: z.int().positive().optional(),
      }),
      z.strictObject({
        family: z.literal('patchcore'),
        /** The frozen pretrained network the patch features come from. */
        backbone: z.string().min(1),
        /** Indices of the backbone stages whose features are concatenated. */
        blocks: z.array(z.int().nonnegative()).min(1),
        featureDims: z.int().positive(),
        /** Memory patches (an initializer of the graph). */
        bankSize: z.int().positive(),
        coresetRatio: z.number().positive().max(1),
        parameters: z.int().positive().optional(),
      }),
    ])
    .optional(),
  input: z.strictObject({
    name: z.string().min(1),
    channels: z.literal(1),
    tileSize: z.int().min(32).max(4096),
    layout: z.literal('NCHW'),
    /** Model input = uint8 pixel × scale + offset. */
    scale: z.number().positive(),
    offset: z.number(),
  }),
  output: z.strictObject({
    name: z.string().min(1),
    layout: z.literal('NCHW'),
    channels: z.int().positive(),
    anomalyChannel: z.int().nonnegative(),
  }),
  postprocess: z.strictObject({
    /** Side of the mean filter applied before taking the frame score (DRAEM: 21). 1 = none. */
    smoothingKernel: z.int().positive().refine((k) => k % 2 === 1, 'an odd number'),
    imageThreshold: z.number().min(0).max(1),
    pixelThreshold: z.number().min(0).max(1),
    /** Scores mapped to [0, 1]: min → 0, imageThreshold → 0.5, max → 1. */
    normalization: Normalization,
    /**
     * Per-fabric calibration (FrameEvent.product.fabricCode → thresholds and normalisation on that
     * fabric's score scale), applied instead of the pooled values above when a frame names the fabric.
     */
    fabrics: z.record(z.string().min(1).max(32), FabricCalibration).optional(),
    /** The pooled thresholds per false-alarm rate; `imageThreshold` is the 0.05 point. */
    operatingPoints: OperatingPoints.optional(),
  }),
  /**
   * Per-fabric memory banks (or any per-fabric part) inside one graph: the graph has a second
   * input, `input` (int64, shape [1]), holding the index to use. A frame whose fabric code is
   * listed in `fabrics` gets that index; any other frame (no code, an unknown code) `fallback`.
   */
  routing: ModelRouting.optional(),
  flopsPerTile: z.number().positive(),
  metrics: z
    .object({
      imageAuroc: Metric,
      pixelAuroc: Metric,
      detectionRate: Metric,
      falseAlarmRate: Metric,
      pro: Metric.optional(),
      split: z.string().nullable().optional(),
      frames: z.int().nonnegative().nullable().optional(),
      /** The same validation frames scored with `postprocess.fabrics` applied. */
      fabricCalibrated: z.strictObject({ imageAuroc: Metric, detectionRate: Metric, falseAlarmRate: Metric }).optional(),
    })
    .nullable()
    .optional(),
  training: z.record(z.string(), z.unknown()).nullable().optional(),
  /** Set on a quantised variant of another version (its `parent`). */
  quantization: Quantization.optional(),
  /** Set on a version refitted from reviewed frames. */
  lineage: Lineage.optional(),
  /** The drift reference: training-frame input profile and validation-normal score deciles. */
  reference: ReferenceProfile.optional(),
  notes: z.string().max(4000).optional(),
});
export type ModelCard = z.infer<typeof ModelCard>;

/** `models/registry/<name>/production.json`: which version serves production. */
export const ProductionMarker = z.object({
  version: z.string().min(1),
  promotedAt: Timestamp,
  reason: z.string().max(2000).optional(),
});
export type ProductionMarker = z.infer<typeof ProductionMarker>;
