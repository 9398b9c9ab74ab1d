import { newCommand, parseCommand, type Command } from '@loomwatch/config';
import { CARD_FALSE_ALARM_RATE, FALSE_ALARM_RATE_RANGE, FalseAlarmRate, LoomwatchError } from '@loomwatch/contracts';
import type { InferenceConfigInput } from '../options.js';

/** How `infer` is run outside `loomwatch`. */
export const INFER_NAME = 'pnpm --silent infer';

/** `infer`: its options, defaults and examples (its --help). */
export function inferCommand(name: string): Command {
  return newCommand({
    name,
    summary: 'Runs a model on image files: one JSON line per image on stdout (verdict, score, regions), and the anomaly maps and overlays if asked.',
    examples: [
      'loomwatch infer ../shared/datasets/aitex/defect/0001_002_00.png',
      'loomwatch infer --model draem-aitex ../shared/datasets/aitex/defect/0001_002_00.png',
      'loomwatch infer --model patchcore-aitex@1.1.0 --overlays-dir /tmp/overlays --threads 2 frames/',
      'loomwatch infer --fabric 00 --false-alarm-rate 0.01 ../shared/datasets/aitex/defect/0001_002_00.png',
    ],
    notes: ['Exit codes: 0 every image decided, 1 an image failed (its line says why), 2 a usage or model error.'],
  })
    .argument('<images...>', 'image files or directories of them')
    .option('--model <ref>', "model version directory, name@version, or name (its production version) (default: LOOMWATCH_MODEL, else the registry's default model, as for the worker)")
    .option('--registry <dir>', 'registry root (default: <repo>/models/registry)')
    .option('--maps-dir <dir>', 'write each anomaly map as <dir>/<image basename>.png (8-bit grey, 0–255 ↔ 0–1)')
    .option('--overlays-dir <dir>', 'write each overlay as <dir>/<image basename>.png (or .jpg)')
    .option('--overlay-format <format>', 'png or jpeg', 'png')
    .option('--fabric <code>', "judge every image by the card's calibration for this fabric (e.g. 02), if it has one; a routed model runs the fabric's part")
    .option('--false-alarm-rate <rate>', `judge at this false-alarm rate, ${FALSE_ALARM_RATE_RANGE.min} to ${FALSE_ALARM_RATE_RANGE.max}, where the calibration has operating points (default: the card's, ${CARD_FALSE_ALARM_RATE})`)
    .option('--threads <n>', "onnxruntime intra-op threads (default: onnxruntime's choice)")
    .option('--stride <n>', 'tile stride in pixels; smaller overlaps tiles (default: the tile size)')
    .option('--batch <n>', 'most tiles per session.run (default: 16)')
    .option('--colour <mode>', 'reject or convert RGB / alpha / 16-bit input (default: reject)')
    .option('--max-pixels <n>', 'refuse images with more pixels (default: 33554432)')
    .option('--min-region-area <n>', 'drop smaller regions (default: 16)');
}

export interface InferArgs {
  /** Undefined: LOOMWATCH_MODEL, else the registry's default model. */
  model: string | undefined;
  inputs: string[];
  mapsDir: string | undefined;
  overlaysDir: string | undefined;
  overlayFormat: 'png' | 'jpeg';
  fabric: string | undefined;
  /** Undefined: the card's default rate. */
  falseAlarmRate: number | undefined;
  config: InferenceConfigInput;
}

function positiveInt(flag: string, raw: string | undefined, min = 1): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new LoomwatchError('CONFIG_INVALID', `--${flag} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
}

function oneOf<T extends string>(flag: string, raw: string | undefined, allowed: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) throw new LoomwatchError('CONFIG_INVALID', `--${flag} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

function falseAlarmRate(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const rate = FalseAlarmRate.safeParse(raw.trim() === '' ? NaN : Number(raw));
  if (!rate.success) {
    throw new LoomwatchError('CONFIG_INVALID', `--false-alarm-rate must be a share between ${FALSE_ALARM_RATE_RANGE.min} and ${FALSE_ALARM_RATE_RANGE.max} (0.02 = 2 % of normal frames flagged), got "${raw}"`);
  }
  return rate.data;
}

interface InferOptions {
  model?: string;
  registry?: string;
  mapsDir?: string;
  overlaysDir?: string;
  overlayFormat: string;
  fabric?: string;
  falseAlarmRate?: string;
  threads?: string;
  stride?: string;
  batch?: string;
  colour?: string;
  maxPixels?: string;
  minRegionArea?: string;
}

/** Parses the `infer` command line; a bad flag is CONFIG_INVALID with the flag named. */
export function parseInferArgs(argv: readonly string[], name = INFER_NAME): InferArgs | 'help' {
  const command = inferCommand(name);
  if (parseCommand(command, argv) === 'help') return 'help';
  const values = command.opts<InferOptions>();
  const config: InferenceConfigInput = {};
  if (values.registry !== undefined) config.registryRoot = values.registry;
  const threads = positiveInt('threads', values.threads, 0);
  if (threads !== undefined) config.intraOpNumThreads = threads;
  const stride = positiveInt('stride', values.stride);
  if (stride !== undefined) config.stride = stride;
  const batch = positiveInt('batch', values.batch);
  if (batch !== undefined) config.maxBatch = batch;
  const colour = oneOf('colour', values.colour, ['reject', 'convert'] as const);
  if (colour !== undefined) config.colour = colour;
  const maxPixels = positiveInt('max-pixels', values.maxPixels);
  if (maxPixels !== undefined) config.limitInputPixels = maxPixels;
  const minArea = positiveInt('min-region-area', values.minRegionArea);
  if (minArea !== undefined) config.minRegionArea = minArea;
  return {
    model: values.model,
    inputs: command.args,
    mapsDir: values.mapsDir,
    overlaysDir: values.overlaysDir,
    overlayFormat: oneOf('overlay-format', values.overlayFormat, ['png', 'jpeg'] as const) ?? 'png',
    fabric: values.fabric,
    falseAlarmRate: falseAlarmRate(values.falseAlarmRate),
    config,
  };
}
