import { LoomwatchError } from '@loomwatch/contracts';

/**
 * A model's name as the registry's directories spell it (`draem-aitex`): lower-case letters,
 * digits and `-`, starting with a letter or digit. So no `.`, `..`, `/`, `\` or `%` can reach a
 * file lookup through a name.
 */
export const MODEL_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * A version as the cards write it: a semantic version (`1.1.0`, `1.1.0-int8.2`). It starts with a
 * digit and holds no `/`, `\` or `%`, so it is never `.`, `..` or a path.
 */
export const MODEL_VERSION = /^\d{1,9}\.\d{1,9}\.\d{1,9}(?:[-+][0-9A-Za-z-]{1,32}(?:\.[0-9A-Za-z-]{1,32}){0,7})?$/;

const body = (re: RegExp): string => re.source.slice(1, -1);

/** A registry reference, `name` or `name@version`, as one pattern (for schemas: `?model=`). */
export const MODEL_REF = new RegExp(`^${body(MODEL_NAME)}(?:@${body(MODEL_VERSION)})?$`);

/** What someone writing a reference should be told. */
export const MODEL_REF_HINT =
  'a registry model: name or name@version, e.g. draem-aitex or draem-aitex@1.1.0 (a name is lower-case letters, digits and "-"; a version is a semantic version)';

/** A registry reference taken apart: `version` undefined means the version `production.json` marks. */
export interface ModelRefParts {
  name: string;
  version?: string;
}

/** The parts of `name` or `name@version`, or undefined when `ref` is neither (a path, `..`, `%2e`…). */
export function modelRefParts(ref: string): ModelRefParts | undefined {
  if (!MODEL_REF.test(ref)) return undefined;
  const [name = '', version] = ref.split('@');
  return version === undefined ? { name } : { name, version };
}

/** `modelRefParts`, refusing anything else with MODEL_NOT_FOUND naming the rule. */
export function parseModelRef(ref: string): ModelRefParts {
  const parts = modelRefParts(ref);
  if (parts === undefined) {
    throw new LoomwatchError('MODEL_NOT_FOUND', `"${ref}" is not a model reference: use ${MODEL_REF_HINT}; a directory is given where a command or config says so, with a "/" (./dir)`);
  }
  return parts;
}
