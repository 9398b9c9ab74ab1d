import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { LoomwatchError, MISSING_IS_REQUIRED } from '@loomwatch/contracts';

export interface LoadConfigOptions {
  /** YAML files, merged in order (later wins). */
  files?: readonly string[];
  /** Environment to read; `process.env` when omitted. */
  env?: NodeJS.ProcessEnv;
  /**
   * Prefix of structured variables: `LOOMWATCH_KAFKA__CLIENT_ID=x` sets `kafka.clientId`.
   * `loadConfig` reads those whose first segment is a top-level key of its schema and leaves the
   * rest to the services that have them — and to the tools, whose own variables
   * (`LOOMWATCH_CACHE`, `LOOMWATCH_STATE`…) name no config section.
   * @defaultValue 'LOOMWATCH_'
   */
  envPrefix?: string;
  /** The top-level sections environment variables may set. @defaultValue all */
  envSections?: readonly string[];
  /** Plain variables mapped to a config path, e.g. `{ KAFKA_BROKERS: 'kafka.brokers' }`. */
  envAliases?: Readonly<Record<string, string>>;
  /** Command-line `--set a.b=c` overrides, applied last. */
  overrides?: readonly string[];
}

type Tree = Record<string, unknown>;

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(base: Tree, patch: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    out[key] = isTree(current) && isTree(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function setPath(tree: Tree, path: readonly string[], value: unknown): void {
  let node = tree;
  path.forEach((segment, index) => {
    if (index === path.length - 1) {
      node[segment] = value;
      return;
    }
    const next = node[segment];
    if (!isTree(next)) node[segment] = {};
    node = node[segment] as Tree;
  });
}

/** A scalar from the environment or the command line, read as YAML: `3` is a number, `[a, b]` a list. */
function parseScalar(raw: string): unknown {
  try {
    return parseYaml(raw) ?? raw;
  } catch {
    return raw;
  }
}

function snakeToCamel(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function readYamlFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new LoomwatchError('CONFIG_FILE_UNREADABLE', `cannot read config file ${file}: check the path and permissions`, {
      cause: err,
    });
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new LoomwatchError('CONFIG_INVALID', `config file ${file} is not valid YAML: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isTree(parsed)) throw new LoomwatchError('CONFIG_INVALID', `config file ${file} must hold a mapping at its top level`);
  return parsed;
}

/**
 * The raw, unvalidated tree (files, then environment, then overrides), where each value set outside
 * files came from, and the text it was read from (a value is read as YAML: `8` is a number).
 */
export function collectConfig(options: LoadConfigOptions = {}): { tree: Tree; sources: Map<string, string>; texts: Map<string, string> } {
  const env = options.env ?? process.env;
  const prefix = options.envPrefix ?? 'LOOMWATCH_';
  const sections = options.envSections === undefined ? undefined : new Set(options.envSections);
  const sources = new Map<string, string>();
  const texts = new Map<string, string>();
  let tree: Tree = {};
  for (const file of options.files ?? []) tree = deepMerge(tree, readYamlFile(file));

  for (const [name, path] of Object.entries(options.envAliases ?? {})) {
    const raw = env[name];
    if (raw === undefined || raw === '' || (sections !== undefined && !sections.has(path.split('.')[0] ?? ''))) continue;
    setPath(tree, path.split('.'), parseScalar(raw));
    sources.set(path, name);
    texts.set(path, raw);
  }
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(prefix) || raw === undefined || raw === '') continue;
    const path = name.slice(prefix.length).split('__').map(snakeToCamel);
    if (path.some((segment) => segment === '') || (sections !== undefined && !sections.has(path[0] ?? ''))) continue;
    setPath(tree, path, parseScalar(raw));
    sources.set(path.join('.'), name);
    texts.set(path.join('.'), raw);
  }
  for (const override of options.overrides ?? []) {
    const eq = override.indexOf('=');
    if (eq <= 0) {
      throw new LoomwatchError('CONFIG_INVALID', `override "${override}" must look like path.to.key=value`);
    }
    setPath(tree, override.slice(0, eq).split('.'), parseScalar(override.slice(eq + 1)));
    sources.set(override.slice(0, eq), `--set ${override.slice(0, eq)}`);
    texts.set(override.slice(0, eq), override.slice(eq + 1));
  }
  return { tree, sources, texts };
}

/** One line per problem, naming the path (and the variable or option that set it). */
function configProblems(issues: readonly z.core.$ZodIssue[], sources: ReadonlyMap<string, string>): string[] {
  const from = (path: string): string => (sources.has(path) ? ` (from ${sources.get(path)})` : '');
  return issues.flatMap((issue) => {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const path = [...base, key].join('.');
        return `${path}: unknown setting${from(path)} — check its spelling against the service's config reference`;
      });
    }
    const path = base.join('.');
    return [`${path === '' ? '(root)' : path}: ${issue.message}${from(path)}`];
  });
}

/** Loads and validates config; an invalid value or an unknown key (with a strict schema) is an error naming its path. */
export function loadConfig<S extends z.ZodType>(schema: S, options: LoadConfigOptions = {}): z.infer<S> {
  const envSections = options.envSections ?? (schema instanceof z.ZodObject ? Object.keys(schema.shape) : undefined);
  const { tree, sources, texts } = collectConfig(envSections === undefined ? options : { ...options, envSections });
  let parsed = schema.safeParse(tree, MISSING_IS_REQUIRED);
  if (!parsed.success) {
    // Where the schema wants a string, a value given as text stays the text it was (a password of digits, a version like 1.10).
    const asWritten = parsed.error.issues.filter((issue) => issue.code === 'invalid_type' && issue.expected === 'string' && texts.has(issue.path.join('.')));
    for (const issue of asWritten) setPath(tree, issue.path.map(String), texts.get(issue.path.join('.')));
    if (asWritten.length > 0) parsed = schema.safeParse(tree, MISSING_IS_REQUIRED);
  }
  if (!parsed.success) {
    const problems = configProblems(parsed.error.issues, sources);
    throw new LoomwatchError('CONFIG_INVALID', `invalid configuration — ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  return parsed.data;
}
