import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { describeIssues, LoomwatchError, MISSING_IS_REQUIRED, ModelCard, ProductionMarker } from '@loomwatch/contracts';

/** A model version on disk: the directory with `model.json` and what the reference asked for. */
export interface ModelLocation {
  dir: string;
  /** Set when the reference named a registry entry: the card must agree. */
  expected?: { name: string; version: string };
}

const NAME = /^[A-Za-z0-9._-]+$/;

function looksLikePath(ref: string): boolean {
  return isAbsolute(ref) || ref.startsWith('.') || ref.includes('/') || ref.includes('\\');
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

async function productionVersion(nameDir: string, name: string): Promise<string> {
  const markerPath = join(nameDir, 'production.json');
  let raw: string;
  try {
    raw = await readFile(markerPath, 'utf8');
  } catch (err) {
    const versions = await listDirs(nameDir);
    throw new LoomwatchError(
      'MODEL_NOT_FOUND',
      `model ${name} has no production version (${markerPath} is missing): pass ${name}@<version>` +
        (versions.length > 0 ? ` — versions on disk: ${versions.join(', ')}` : ''),
      { cause: err },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new LoomwatchError('MODEL_CARD_INVALID', `${markerPath} is not valid JSON: fix or re-promote the version`, { cause: err });
  }
  const marker = ProductionMarker.safeParse(parsed, MISSING_IS_REQUIRED);
  if (!marker.success) {
    throw new LoomwatchError('MODEL_CARD_INVALID', `${markerPath} is invalid (${describeIssues(marker.error.issues)}): fix or re-promote the version`);
  }
  return marker.data.version;
}

/**
 * Resolves `--model`: a directory (holding `model.json`, or a model's directory with
 * `production.json`), `name@version`, or `name` (the version `production.json` marks), the
 * last two inside `registryRoot`.
 */
export async function resolveModel(ref: string, registryRoot: string): Promise<ModelLocation> {
  if (looksLikePath(ref)) {
    const dir = resolve(ref);
    if (await isFile(join(dir, 'model.json'))) return { dir };
    if (await isFile(join(dir, 'production.json'))) {
      const version = await productionVersion(dir, ref);
      return { dir: join(dir, version) };
    }
    throw new LoomwatchError('MODEL_NOT_FOUND', `no model.json (or production.json) in ${dir}: pass a model version directory, name@version or name`);
  }
  const at = ref.lastIndexOf('@');
  const name = at === -1 ? ref : ref.slice(0, at);
  const pinned = at === -1 ? undefined : ref.slice(at + 1);
  if (!NAME.test(name) || (pinned !== undefined && !NAME.test(pinned))) {
    throw new LoomwatchError('MODEL_NOT_FOUND', `"${ref}" is not a model reference: use a directory, name@version or name`);
  }
  const nameDir = join(resolve(registryRoot), name);
  if ((await listDirs(nameDir)).length === 0 && !(await isFile(join(nameDir, 'production.json')))) {
    const names = await listDirs(resolve(registryRoot));
    throw new LoomwatchError(
      'MODEL_NOT_FOUND',
      `model ${name} is not in the registry ${resolve(registryRoot)}` + (names.length > 0 ? ` — models there: ${names.join(', ')}` : ' (empty or missing: check --registry)'),
    );
  }
  const version = pinned ?? (await productionVersion(nameDir, name));
  const dir = join(nameDir, version);
  if (!(await isFile(join(dir, 'model.json')))) {
    const versions = await listDirs(nameDir);
    throw new LoomwatchError('MODEL_NOT_FOUND', `${name}@${version} is not in the registry (no ${join(dir, 'model.json')}) — versions on disk: ${versions.join(', ') || 'none'}`);
  }
  return { dir, expected: { name, version } };
}

/** Reads and validates `model.json`; an invalid card is `MODEL_CARD_INVALID` naming the fields. */
export async function readModelCard(location: ModelLocation): Promise<ModelCard> {
  const path = join(location.dir, 'model.json');
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    throw new LoomwatchError('MODEL_NOT_FOUND', `cannot read the model card ${path}: check the model reference`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new LoomwatchError('MODEL_CARD_INVALID', `the model card ${path} is not valid JSON: re-export the model`, { cause: err });
  }
  const result = ModelCard.safeParse(parsed, MISSING_IS_REQUIRED);
  if (!result.success) {
    throw new LoomwatchError('MODEL_CARD_INVALID', `the model card ${path} is invalid — ${describeIssues(result.error.issues)}: re-export the model with the current pipeline`);
  }
  const card = result.data;
  const expected = location.expected;
  if (expected !== undefined && (card.name !== expected.name || card.version !== expected.version)) {
    throw new LoomwatchError(
      'MODEL_CARD_INVALID',
      `the card in ${location.dir} describes ${card.name}@${card.version}, not ${expected.name}@${expected.version}: the registry directory and its card disagree`,
    );
  }
  const { imageThreshold, normalization } = card.postprocess;
  if (!(normalization.min <= imageThreshold && imageThreshold <= normalization.max)) {
    throw new LoomwatchError(
      'MODEL_CARD_INVALID',
      `the card ${path} has postprocess.normalization ${normalization.min}…${normalization.max} that does not contain imageThreshold ${imageThreshold}: recalibrate the model`,
    );
  }
  if (card.routing !== undefined && card.routing.input === card.input.name) {
    throw new LoomwatchError('MODEL_CARD_INVALID', `the card ${path} names "${card.input.name}" as both its image input and its routing input: fix routing.input`);
  }
  if (card.output.anomalyChannel >= card.output.channels) {
    throw new LoomwatchError('MODEL_CARD_INVALID', `the card ${path} says output.anomalyChannel ${card.output.anomalyChannel} of ${card.output.channels} channels: fix the card`);
  }
  return card;
}

/** The model the system serves when none is named, and why. */
export interface DefaultModel {
  name: string;
  version: string;
  /** The production version's validation image AUROC; `null` for an unmeasured (test) model. */
  imageAuroc: number | null;
}

/**
 * The default model: of the registry's models with a production version, the one whose production
 * card measured the highest validation image AUROC (ties: name order). Families are data, so no
 * name is hard-coded; a model without measured metrics (the random test model) is chosen only when
 * none is measured. `MODEL_NOT_FOUND` when no model has a production version.
 */
export async function defaultModel(registryRoot: string): Promise<DefaultModel> {
  const candidates: DefaultModel[] = [];
  for (const name of await listDirs(resolve(registryRoot))) {
    if (!(await isFile(join(resolve(registryRoot), name, 'production.json')))) continue;
    const card = await readModelCard(await resolveModel(name, registryRoot));
    candidates.push({ name, version: card.version, imageAuroc: card.metrics?.imageAuroc ?? null });
  }
  const best = candidates.reduce<DefaultModel | undefined>((a, c) => (a === undefined || (c.imageAuroc ?? -1) > (a.imageAuroc ?? -1) ? c : a), undefined);
  if (best === undefined) {
    throw new LoomwatchError('MODEL_NOT_FOUND', `no model in the registry ${resolve(registryRoot)} has a production version: promote one (models/lw promote) or name a model`);
  }
  return best;
}
