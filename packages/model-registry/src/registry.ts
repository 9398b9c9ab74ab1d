import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeIssues, LoomwatchError, MISSING_IS_REQUIRED, ModelCard, ProductionMarker } from '@loomwatch/contracts';
import { MODEL_NAME, MODEL_REF_HINT, MODEL_VERSION, modelRefParts, parseModelRef } from './names.js';

/** `<repo>/models/registry`, where the model pipeline writes model versions. */
export const DEFAULT_REGISTRY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../models/registry');

/** A model version on disk: the directory with `model.json` and what the reference asked for. */
export interface ModelLocation {
  dir: string;
  /** Set when the reference named a registry entry: the card must agree. */
  expected?: { name: string; version: string };
}

/**
 * What names a model: a registry reference (`name`, `name@version`, checked by `parseModelRef`)
 * or `{ dir }`, a directory someone named on purpose (a command's `--model ./dir`, a config file:
 * see `modelSource`). A string is never read as a path, so a reference that arrives from a request
 * or a message cannot reach the file system.
 */
export type ModelSource = string | { dir: string };

/**
 * A model as an operator writes it in a flag or a config file: text with a `/` (or `\`) is a
 * directory (`./models/x/1.0.0`, `/abs/dir`), anything else a registry reference. Only for values
 * an operator wrote: requests and messages pass their reference to `resolveModel` as a string.
 */
export function modelSource(text: string): ModelSource {
  return text.includes('/') || text.includes('\\') ? { dir: text } : text;
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

async function readMarker(markerPath: string): Promise<ProductionMarker> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(markerPath, 'utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) throw new LoomwatchError('MODEL_CARD_INVALID', `${markerPath} is not valid JSON: fix or re-promote the version`, { cause: err });
    throw err;
  }
  const marker = ProductionMarker.safeParse(parsed, MISSING_IS_REQUIRED);
  if (!marker.success) {
    throw new LoomwatchError('MODEL_CARD_INVALID', `${markerPath} is invalid (${describeIssues(marker.error.issues)}): fix or re-promote the version`);
  }
  if (!MODEL_VERSION.test(marker.data.version)) {
    throw new LoomwatchError('MODEL_CARD_INVALID', `${markerPath} marks "${marker.data.version}", which is not a version (a semantic version such as 1.1.0): fix or re-promote the version`);
  }
  return marker.data;
}

async function productionVersion(nameDir: string, name: string): Promise<string> {
  const markerPath = join(nameDir, 'production.json');
  if (!(await isFile(markerPath))) {
    const versions = await listDirs(nameDir);
    throw new LoomwatchError(
      'MODEL_NOT_FOUND',
      `model ${name} has no production version (${markerPath} is missing): pass ${name}@<version>` +
        (versions.length > 0 ? ` — versions on disk: ${versions.join(', ')}` : ''),
    );
  }
  return (await readMarker(markerPath)).version;
}

/**
 * The production marker of the registry model `name` (`<name>/production.json`: the version the
 * gate promoted, when and why); undefined when it has none. MODEL_CARD_INVALID when it is broken.
 */
export async function productionMarker(name: string, registryRoot: string): Promise<ProductionMarker | undefined> {
  if (!MODEL_NAME.test(name)) throw new LoomwatchError('MODEL_NOT_FOUND', `"${name}" is not a model name: ${MODEL_REF_HINT}`);
  const markerPath = join(resolve(registryRoot), name, 'production.json');
  return (await isFile(markerPath)) ? readMarker(markerPath) : undefined;
}

/**
 * Resolves a model: a registry reference `name@version`, or `name` (the version `production.json`
 * marks), inside `registryRoot`; or `{ dir }`, a version directory (holding `model.json`) or a
 * model's directory (holding `production.json`). A string that is no registry reference (a path,
 * `..`, `%2e`…) is MODEL_NOT_FOUND before anything is read.
 */
export async function resolveModel(source: ModelSource, registryRoot: string): Promise<ModelLocation> {
  if (typeof source !== 'string') {
    const dir = resolve(source.dir);
    if (await isFile(join(dir, 'model.json'))) return { dir };
    if (await isFile(join(dir, 'production.json'))) {
      const version = await productionVersion(dir, source.dir);
      return { dir: join(dir, version) };
    }
    throw new LoomwatchError('MODEL_NOT_FOUND', `no model.json (or production.json) in ${dir}: pass a model version directory, name@version or name`);
  }
  const { name, version: pinned } = parseModelRef(source);
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

/** The registry's models: its directories whose name is a model name, in name order. */
export async function registryModels(registryRoot: string): Promise<string[]> {
  return (await listDirs(resolve(registryRoot))).filter((name) => MODEL_NAME.test(name));
}

/** The versions of the registry model `name` on disk (directories named as versions), in name order. */
export async function modelVersions(name: string, registryRoot: string): Promise<string[]> {
  if (!MODEL_NAME.test(name)) return [];
  return (await listDirs(join(resolve(registryRoot), name))).filter((version) => MODEL_VERSION.test(version));
}

/**
 * A version as a deployment of `model` names it (control.v1's `ModelVersion`), from what someone
 * wrote: a bare version (`1.2.0`) is one of `model`'s own; `name@version` a version of any registry
 * model; a bare name (`patchcore-aitex`) that model's production version, pinned now. Returns
 * `version` for `model`'s own and `name@version` for another's. MODEL_NOT_FOUND in one line naming
 * what exists: the registry's models, or the versions of the model named.
 */
export async function deployedVersion(spec: string, model: string, registryRoot: string): Promise<string> {
  const parts = MODEL_VERSION.test(spec) ? { name: model, version: spec } : modelRefParts(spec);
  if (parts === undefined) {
    throw new LoomwatchError('MODEL_NOT_FOUND', `"${spec}" is neither a version (1.2.0) nor ${MODEL_REF_HINT}`);
  }
  const models = await registryModels(registryRoot);
  if (!models.includes(parts.name)) {
    throw new LoomwatchError('MODEL_NOT_FOUND', `no model ${parts.name} in the registry ${resolve(registryRoot)}: its models are ${models.join(', ') || 'none'}`);
  }
  const versions = await modelVersions(parts.name, registryRoot);
  const version = parts.version ?? (await productionMarker(parts.name, registryRoot))?.version;
  if (version === undefined) {
    throw new LoomwatchError('MODEL_NOT_FOUND', `${parts.name} has no production version (no production.json): name one of its versions, ${parts.name}@<version> — ${versions.join(', ') || 'none'}`);
  }
  if (!versions.includes(version)) {
    throw new LoomwatchError('MODEL_NOT_FOUND', `${parts.name} has no version ${version}: its versions are ${versions.join(', ') || 'none'}`);
  }
  return parts.name === model ? version : `${parts.name}@${version}`;
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
    // A directory whose name is no model name (a stray copy, `lost+found`) is not a model.
    if (!MODEL_NAME.test(name) || !(await isFile(join(resolve(registryRoot), name, 'production.json')))) continue;
    const card = await readModelCard(await resolveModel(name, registryRoot));
    candidates.push({ name, version: card.version, imageAuroc: card.metrics?.imageAuroc ?? null });
  }
  const best = candidates.reduce<DefaultModel | undefined>((a, c) => (a === undefined || (c.imageAuroc ?? -1) > (a.imageAuroc ?? -1) ? c : a), undefined);
  if (best === undefined) {
    throw new LoomwatchError('MODEL_NOT_FOUND', `no model in the registry ${resolve(registryRoot)} has a production version: promote one (models/lw promote) or name a model`);
  }
  return best;
}
