import { parseArgs } from 'node:util';
import { LoomwatchError } from '@loomwatch/contracts';
import type { InferenceConfigInput } from '../options.js';

export const USAGE = `usage: pnpm --silent infer --model <dir | name@version | name> [options] <image | dir>...

  --model REF          model version directory, name@version, or name (the production version)
  --registry DIR       registry root (default: <repo>/models/registry)
  --maps-dir DIR       write each anomaly map as DIR/<image basename>.png (8-bit grey, 0–255 ↔ 0–1)
  --overlays-dir DIR   write each overlay as DIR/<image basename>.png (or .jpg with --overlay-format jpeg)
  --overlay-format F   png (default) or jpeg
  --fabric CODE        judge every image by the card's calibration for this fabric (e.g. 02), if it has one
  --threads N          onnxruntime intra-op threads (default: onnxruntime's choice)
  --stride N           tile stride in pixels (default: the tile size; smaller overlaps tiles)
  --batch N            most tiles per session.run (default: 16)
  --colour MODE        reject (default) or convert RGB / alpha / 16-bit input
  --max-pixels N       refuse images with more pixels (default: 33554432)
  --min-region-area N  drop smaller regions (default: 16)

Prints one JSON line per image on stdout; exits 1 if any image failed, 2 on a usage or model error.`;

export interface InferArgs {
  model: string;
  inputs: string[];
  mapsDir: string | undefined;
  overlaysDir: string | undefined;
  overlayFormat: 'png' | 'jpeg';
  fabric: string | undefined;
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

/** Parses the `infer` command line; a bad flag is CONFIG_INVALID with the flag named. */
export function parseInferArgs(argv: readonly string[]): InferArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        model: { type: 'string' },
        registry: { type: 'string' },
        'maps-dir': { type: 'string' },
        'overlays-dir': { type: 'string' },
        'overlay-format': { type: 'string' },
        fabric: { type: 'string' },
        threads: { type: 'string' },
        stride: { type: 'string' },
        batch: { type: 'string' },
        colour: { type: 'string' },
        'max-pixels': { type: 'string' },
        'min-region-area': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new LoomwatchError('CONFIG_INVALID', err instanceof Error ? err.message : String(err), { cause: err });
  }
  const { values, positionals } = parsed;
  if (values.help === true) return 'help';
  if (values.model === undefined) throw new LoomwatchError('CONFIG_INVALID', '--model is required (a directory, name@version or name)');
  if (positionals.length === 0) throw new LoomwatchError('CONFIG_INVALID', 'give at least one image or directory');
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
  const maxPixels = positiveInt('max-pixels', values['max-pixels']);
  if (maxPixels !== undefined) config.limitInputPixels = maxPixels;
  const minArea = positiveInt('min-region-area', values['min-region-area']);
  if (minArea !== undefined) config.minRegionArea = minArea;
  return {
    model: values.model,
    inputs: positionals,
    mapsDir: values['maps-dir'],
    overlaysDir: values['overlays-dir'],
    overlayFormat: oneOf('overlay-format', values['overlay-format'], ['png', 'jpeg'] as const) ?? 'png',
    fabric: values.fabric,
    config,
  };
}
