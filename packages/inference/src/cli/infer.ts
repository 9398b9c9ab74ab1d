import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { commandName } from '@loomwatch/config';
import { LoomwatchError, toLoomwatchError } from '@loomwatch/contracts';
import { DEFAULT_REGISTRY_ROOT, defaultModel, modelSource } from '@loomwatch/model-registry';
import { InferenceEngine, type InferenceResult } from '../engine.js';
import { INFER_NAME, parseInferArgs, type InferArgs } from './args.js';
import { expandInputs } from './inputs.js';

/** Frames in flight: one runs in onnxruntime while the next is decoded and the last post-processed. */
const IN_FLIGHT = 2;

type Line = Record<string, unknown>;

function resultLine(image: string, r: InferenceResult): Line {
  return {
    image,
    width: r.width,
    height: r.height,
    score: r.score,
    normalizedScore: r.normalizedScore,
    threshold: r.threshold,
    ...(r.calibration.fabric === null ? {} : { calibratedFabric: r.calibration.fabric }),
    ...(r.calibration.falseAlarmRate === null ? {} : { falseAlarmRate: r.calibration.falseAlarmRate }),
    // Which calibration judged the image (a fabric's, or null: pooled) and at which false-alarm rate (null: the card states none).
    calibration: { fabric: r.calibration.fabric, falseAlarmRate: r.calibration.falseAlarmRate },
    verdict: r.verdict,
    regions: r.regions,
    model: { name: r.model.name, version: r.model.version },
    timings: r.timings,
  };
}

function errorLine(image: string, err: unknown): Line {
  const e = toLoomwatchError(err);
  return { image, error: { code: e.code, message: e.message } };
}

async function readImage(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'EISDIR' ? 'is a directory' : code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(err)})`;
    throw new LoomwatchError('IMAGE_NOT_FOUND', `${path} ${reason}: check the path`, { cause: err });
  }
}

async function processImage(engine: InferenceEngine, args: InferArgs, path: string): Promise<Line> {
  try {
    const result = await engine.infer(await readImage(path), path, args.fabric, args.falseAlarmRate);
    const stem = basename(path, extname(path));
    const writes: Promise<void>[] = [];
    if (args.mapsDir !== undefined) {
      const dir = args.mapsDir;
      writes.push(engine.renderAnomalyMapPng(result).then((png) => writeFile(join(dir, `${stem}.png`), png)));
    }
    if (args.overlaysDir !== undefined) {
      const dir = args.overlaysDir;
      const ext = args.overlayFormat === 'jpeg' ? 'jpg' : 'png';
      writes.push(engine.renderOverlay(result, { format: args.overlayFormat }).then((img) => writeFile(join(dir, `${stem}.${ext}`), img)));
    }
    await Promise.all(writes);
    return resultLine(path, result);
  } catch (err) {
    return errorLine(path, err);
  }
}

/** Pictures are named after the image's basename: say so when two inputs would write the same file. */
function warnOnSharedNames(images: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const image of images) {
    const stem = basename(image, extname(image));
    const first = seen.get(stem);
    if (first === undefined) seen.set(stem, image);
    else process.stderr.write(`infer: ${image} and ${first} share the name ${stem}: their maps and overlays go to the same files, so only one of each is kept\n`);
  }
}

function fail(err: unknown): number {
  const e = toLoomwatchError(err);
  process.stderr.write(`${JSON.stringify({ error: { code: e.code, message: e.message } })}\n`);
  return 2;
}

async function main(argv: readonly string[]): Promise<number> {
  let args: InferArgs;
  const self = commandName(INFER_NAME);
  try {
    const parsed = parseInferArgs(argv, self);
    if (parsed === 'help') return 0;
    args = parsed;
  } catch (err) {
    process.stderr.write(`${self}: ${toLoomwatchError(err).message} (${self} --help shows the options and an example)\n`);
    return 2;
  }
  let engine: InferenceEngine;
  try {
    for (const dir of [args.mapsDir, args.overlaysDir]) if (dir !== undefined) await mkdir(dir, { recursive: true });
    const model = args.model ?? process.env.LOOMWATCH_MODEL ?? (await defaultModel(args.config.registryRoot ?? DEFAULT_REGISTRY_ROOT)).name;
    // --model and LOOMWATCH_MODEL are the operator's: a value with a "/" is a directory (./dir).
    engine = await InferenceEngine.load({ model: modelSource(model), ...args.config });
  } catch (err) {
    return fail(err);
  }
  const images = await expandInputs(args.inputs);
  if (args.mapsDir !== undefined || args.overlaysDir !== undefined) warnOnSharedNames(images);
  const started = performance.now();
  let failed = 0;
  // A sliding window keeps IN_FLIGHT frames going; lines still come out in input order.
  const window: Promise<Line>[] = [];
  let next = 0;
  while (next < images.length || window.length > 0) {
    while (window.length < IN_FLIGHT && next < images.length) window.push(processImage(engine, args, images[next++] ?? ''));
    const line = await (window.shift() ?? Promise.resolve({}));
    if ('error' in line) failed++;
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
  await engine.close();
  const seconds = (performance.now() - started) / 1000;
  const { name, version } = engine.card;
  process.stderr.write(`infer: ${images.length} image(s), ${failed} failed, ${name}@${version}, ${(images.length / Math.max(seconds, 1e-9)).toFixed(2)} images/s\n`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
