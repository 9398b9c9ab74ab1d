/**
 * The workspace's dependency graph, read from the package.json files and the sources: what
 * `workspace-graph.test.ts` holds to a tree (services → packages, no cycles, testkit a leaf), and
 * what each package loads at run time (its `dependencies`, transitively, through node_modules), so
 * that a package meant to load no runtime never does.
 */
import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

export type WorkspaceKind = 'package' | 'service' | 'app';

export interface WorkspaceNode {
  name: string;
  dir: string;
  kind: WorkspaceKind;
  /** Workspace packages named in dependencies and devDependencies. */
  declared: Set<string>;
  /** Workspace packages its TypeScript sources import, with a file that does. */
  imported: Map<string, string>;
  /** Every package named in `dependencies` (workspace or not): what it loads at run time. */
  runtime: string[];
}

const KIND_OF_GROUP: Record<string, WorkspaceKind> = { packages: 'package', services: 'service', deploy: 'app' };

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The directories of the workspace packages under packages/, services/ and deploy/ of `root`, relative to it. */
export function workspaceDirs(root: string): string[] {
  return Object.keys(KIND_OF_GROUP).flatMap((group) =>
    existsSync(join(root, group))
      ? readdirSync(join(root, group), { withFileTypes: true })
          .filter((entry) => entry.isDirectory() && existsSync(join(root, group, entry.name, 'package.json')))
          .map((entry) => join(group, entry.name))
      : [],
  );
}

/** Every workspace package under packages/, services/ and deploy/ of `root`. */
export function readWorkspace(root: string): WorkspaceNode[] {
  const manifests = workspaceDirs(root).map((dir) => {
    const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as {
      name: string;
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    return { dir, manifest };
  });
  const names = new Set(manifests.map(({ manifest }) => manifest.name));
  return manifests.map(({ dir, manifest }) => {
    const declared = new Set(Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).filter((dep) => names.has(dep)));
    const imported = new Map<string, string>();
    for (const file of [...sourceFiles(join(root, dir, 'src')), ...sourceFiles(join(root, dir, 'bench'))]) {
      for (const match of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(@loomwatch\/[a-z0-9-]+)/g)) {
        const target = match[1];
        if (target !== undefined && target !== manifest.name && !imported.has(target)) imported.set(target, relative(root, file));
      }
    }
    const runtime = Object.keys(manifest.dependencies ?? {});
    return { name: manifest.name, dir, kind: KIND_OF_GROUP[dir.split('/')[0] ?? ''] ?? 'package', declared, imported, runtime };
  });
}

/** The cycles among declared dependencies, each as a path that returns to its start. */
export function findCycles(nodes: readonly WorkspaceNode[]): string[][] {
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(name)), name]);
      return;
    }
    state.set(name, 'visiting');
    for (const dep of byName.get(name)?.declared ?? []) visit(dep, [...path, name]);
    state.set(name, 'done');
  };
  for (const node of nodes) visit(node.name, []);
  return cycles;
}

/** Every breach of the layering rules, one sentence each. */
export function graphProblems(nodes: readonly WorkspaceNode[]): string[] {
  const kindOf = new Map(nodes.map((node) => [node.name, node.kind]));
  const problems = findCycles(nodes).map((cycle) => `dependency cycle: ${cycle.join(' → ')}`);
  for (const node of nodes) {
    for (const dep of node.declared) {
      const kind = kindOf.get(dep);
      if (kind !== 'package') problems.push(`${node.name} (${node.kind}) depends on ${dep}, a ${kind}: only packages may be depended on`);
      if (node.name === '@loomwatch/testkit') problems.push(`@loomwatch/testkit depends on ${dep}: testkit must stay a leaf`);
    }
    for (const [target, file] of node.imported) {
      if (!node.declared.has(target)) problems.push(`${file} imports ${target}, which ${node.name}'s package.json does not declare`);
    }
  }
  return problems;
}

interface Manifest {
  name?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** The directory of `name` as Node resolves it from `from`: `node_modules/<name>` of `from` or an ancestor. */
function packageDir(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * What every package loads at run time, by name: the workspace packages' `dependencies`, and for
 * each installed package reached from them its own `dependencies` and installed
 * `optionalDependencies`, read from node_modules (an optional one not installed is left out).
 */
export function readRuntimeGraph(root: string, nodes: readonly WorkspaceNode[]): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  const seen = new Set<string>();
  const pending: { name: string; dir: string; deps: string[] }[] = nodes.map((node) => ({ name: node.name, dir: join(root, node.dir), deps: node.runtime }));
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const edges = graph.get(next.name) ?? new Set<string>();
    graph.set(next.name, edges);
    for (const dep of next.deps) {
      edges.add(dep);
      const dir = packageDir(dep, next.dir);
      if (dir === undefined || seen.has(dir)) continue;
      seen.add(dir);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
      pending.push({ name: dep, dir, deps: Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies }) });
    }
  }
  return graph;
}

/** Packages that must not load some runtimes, and why. A name ending in `/*` forbids a whole scope. */
export interface RuntimeRule {
  packages: readonly string[];
  forbidden: readonly string[];
  why: string;
}

/** What runs a model: onnxruntime-node, and the packages that load it. */
const MODEL_RUNTIME = ['onnxruntime-node', '@loomwatch/inference', '@loomwatch/frame-pipeline'];
/** The image library: decoding frames, drawing overlays. */
const IMAGE_RUNTIME = ['sharp'];
const KAFKA_CLIENTS = ['@platformatic/kafka', '@loomwatch/kafka'];
const CLIENTS = [...KAFKA_CLIENTS, '@aws-sdk/*', '@loomwatch/storage'];

export const RUNTIME_RULES: readonly RuntimeRule[] = [
  {
    packages: ['@loomwatch/model-registry', '@loomwatch/contracts', '@loomwatch/http', '@loomwatch/concurrency', '@loomwatch/config', '@loomwatch/observability', '@loomwatch/quality'],
    forbidden: [...MODEL_RUNTIME, ...IMAGE_RUNTIME, ...CLIENTS],
    why: 'a shared package that any service may use loads no model runtime, no image library and no broker or S3 client',
  },
  {
    packages: ['@loomwatch/overlay'],
    forbidden: [...MODEL_RUNTIME, ...CLIENTS],
    why: 'the overlay renderer draws with sharp only: the dashboard and the inference API load it without a model runtime, and it reads and writes objects through the store its caller hands it',
  },
  {
    packages: ['@loomwatch/drift-monitor', '@loomwatch/alerting'],
    forbidden: [...MODEL_RUNTIME, ...IMAGE_RUNTIME],
    why: 'a service that runs no model and draws no image carries neither runtime in its image (the registry it reads is @loomwatch/model-registry)',
  },
  {
    packages: ['@loomwatch/dashboard'],
    forbidden: MODEL_RUNTIME,
    why: 'the dashboard renders overlays on request (@loomwatch/overlay, sharp) but runs no model: its image carries no onnxruntime-node',
  },
  {
    packages: ['@loomwatch/camera-gateway'],
    forbidden: MODEL_RUNTIME,
    why: 'the gateway checks images (sharp) but runs no model',
  },
  {
    packages: ['@loomwatch/inference-api'],
    forbidden: [...KAFKA_CLIENTS, '@loomwatch/frame-pipeline'],
    why: 'the inference API answers HTTP from the model and reads S3 (@loomwatch/storage) only for its stream-overlay route: its image carries no Kafka client',
  },
];

function matches(name: string, pattern: string): boolean {
  return pattern.endsWith('/*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

/** The shortest chain of runtime dependencies from `from` to a package `pattern` matches, if any. */
export function runtimePath(graph: ReadonlyMap<string, ReadonlySet<string>>, from: string, pattern: string): string[] | undefined {
  const parent = new Map<string, string>([[from, from]]);
  const queue = [from];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (name !== from && matches(name, pattern)) {
      const path = [name];
      for (let at = name; at !== from; ) path.unshift((at = parent.get(at) ?? from));
      return path;
    }
    for (const dep of graph.get(name) ?? []) {
      if (!parent.has(dep)) {
        parent.set(dep, name);
        queue.push(dep);
      }
    }
  }
  return undefined;
}

/** Every package that loads what its rule forbids, one sentence each with the chain that loads it. */
export function runtimeProblems(graph: ReadonlyMap<string, ReadonlySet<string>>, rules: readonly RuntimeRule[] = RUNTIME_RULES): string[] {
  const problems: string[] = [];
  for (const rule of rules) {
    for (const name of rule.packages) {
      if (!graph.has(name)) problems.push(`${name} is named by a runtime rule but is not in the workspace`);
      for (const pattern of rule.forbidden) {
        const path = runtimePath(graph, name, pattern);
        if (path !== undefined) problems.push(`${name} loads ${path.at(-1) ?? pattern} at run time (${path.join(' → ')}): ${rule.why}`);
      }
    }
  }
  return problems;
}
