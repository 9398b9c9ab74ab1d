/**
 * The model registry on disk, `<root>/<name>/<version>/model.json` (+ `model.onnx`) and
 * `<root>/<name>/production.json`, read without loading a model runtime: names and references,
 * cards, production markers, the default model, and which precision serves a version.
 *
 * Glossary: *reference* — `name` (its production version) or `name@version`, the only form a
 * request or message may use (`parseModelRef`); *source* — a reference or `{ dir }`, a directory
 * an operator named (`modelSource`); *card* — `model.json`, validated (`readModelCard`); *marker*
 * — `production.json`, the version the gate promoted (`productionMarker`).
 */
export { MODEL_NAME, MODEL_REF, MODEL_REF_HINT, MODEL_VERSION, modelRefParts, parseModelRef, type ModelRefParts } from './names.js';
export {
  DEFAULT_REGISTRY_ROOT,
  defaultModel,
  deployedVersion,
  modelSource,
  modelVersions,
  registryModels,
  productionMarker,
  readModelCard,
  resolveModel,
  type DefaultModel,
  type ModelLocation,
  type ModelSource,
} from './registry.js';
export {
  MAX_INT8_AUROC_LOSS,
  Precision,
  choosePrecision,
  cpuFlagsFromCpuinfo,
  hasVnni,
  readCpuFlags,
  selectPrecision,
  type Int8Variant,
  type PrecisionChoice,
  type PrecisionSelection,
} from './precision.js';
