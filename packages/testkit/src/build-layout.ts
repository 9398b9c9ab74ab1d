/**
 * How the workspace is built and run: every package compiles `src/` to its own `dist/` (tsc -b,
 * all of them referenced by tsconfig.build.json); its exports name the TypeScript source under
 * `@loomwatch/source` (vitest, tsx, the compiler) and, under `default`, the file tsc emits for it
 * (plain node in production); a `node …/dist/….js` script starts a compiled source that exists.
 * What `build-layout.test.ts` holds the workspace to.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { workspaceDirs } from './workspace-graph.js';

export const SOURCE_CONDITION = '@loomwatch/source';

export interface PackageManifest {
  /** Relative to the repo root; '' for the root manifest. */
  dir: string;
  name: string;
  exports?: Record<string, unknown>;
  scripts?: Record<string, string>;
}

export interface BuildLayout {
  /** The workspace packages' manifests, then the root's. */
  manifests: PackageManifest[];
  /** The directories tsconfig.build.json references. */
  buildReferences: string[];
}

/** The file tsc emits for a module under src/ (rootDir src, outDir dist), or undefined for anything else. */
export function emittedFile(source: string): string | undefined {
  const match = /^\.\/src\/(.+)\.ts$/.exec(source);
  return match === null ? undefined : `./dist/${match[1]}.js`;
}

/** The compiled files the scripts start with `node`, relative to the manifest's directory. */
function startedFiles(scripts: Record<string, string>): string[] {
  return Object.values(scripts).flatMap((script) => [...script.matchAll(/\bnode ((?:\S+\/)?dist\/\S+\.js)\b/g)].map((m) => m[1] ?? ''));
}

/** Every way the layout breaks the rules, one sentence each; `exists` answers for paths relative to the repo root. */
export function buildLayoutProblems(layout: BuildLayout, exists: (path: string) => boolean): string[] {
  const problems: string[] = [];
  const referenced = new Set(layout.buildReferences.map((dir) => normalize(dir)));
  for (const { dir, name, exports = {}, scripts = {} } of layout.manifests) {
    if (dir !== '' && !referenced.has(normalize(dir))) problems.push(`${dir} is not referenced by tsconfig.build.json: pnpm build would not compile it`);
    if (dir !== '' && !exists(join(dir, 'tsconfig.json'))) problems.push(`${dir} has no tsconfig.json`);
    for (const [subpath, targets] of Object.entries(exports)) {
      const where = `${name} export "${subpath}"`;
      const keys = typeof targets === 'object' && targets !== null ? Object.keys(targets) : [];
      if (keys.join() !== `${SOURCE_CONDITION},default`) {
        problems.push(`${where} must map "${SOURCE_CONDITION}" to its src/….ts, then "default" to the dist/….js tsc emits for it`);
        continue;
      }
      const { [SOURCE_CONDITION]: source, default: compiled } = targets as Record<string, unknown>;
      const emitted = typeof source === 'string' ? emittedFile(source) : undefined;
      if (typeof source !== 'string' || emitted === undefined || !exists(join(dir, source))) {
        problems.push(`${where}: "${SOURCE_CONDITION}" names ${String(source)}, not an existing ./src/….ts file`);
      } else if (compiled !== emitted) {
        problems.push(`${where}: "default" names ${String(compiled)}, but tsc emits ${source} as ${emitted}`);
      }
    }
    for (const file of startedFiles(scripts)) {
      const source = file.replace(/(^|\/)dist\//, '$1src/').replace(/\.js$/, '.ts');
      if (!exists(join(dir, source))) problems.push(`${name} starts ${file}, but ${join(dir, source)} does not exist to compile it from`);
    }
  }
  return problems;
}

function readJson(path: string): unknown {
  // tsconfig files may carry whole-line comments.
  return JSON.parse(readFileSync(path, 'utf8').replace(/^\s*\/\/.*$/gm, ''));
}

/** The build layout of the workspace at `root`. */
export function readBuildLayout(root: string): BuildLayout {
  const manifests = [...workspaceDirs(root), ''].map((dir) => ({ dir, ...(readJson(join(root, dir, 'package.json')) as Omit<PackageManifest, 'dir'>) }));
  const build = readJson(join(root, 'tsconfig.build.json')) as { references?: { path: string }[] };
  return { manifests, buildReferences: (build.references ?? []).map((reference) => reference.path) };
}

/** `buildLayoutProblems` on the files under `root`. */
export function workspaceBuildProblems(root: string): string[] {
  return buildLayoutProblems(readBuildLayout(root), (path) => existsSync(join(root, path)));
}
