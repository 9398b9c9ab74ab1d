/**
 * The workspace's dependency graph, read from the package.json files and the sources: what
 * `workspace-graph.test.ts` holds to a tree (services → packages, no cycles, testkit a leaf).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

export type WorkspaceKind = 'package' | 'service' | 'app';

export interface WorkspaceNode {
  name: string;
  dir: string;
  kind: WorkspaceKind;
  /** Workspace packages named in dependencies and devDependencies. */
  declared: Set<string>;
  /** Workspace packages its TypeScript sources import, with a file that does. */
  imported: Map<string, string>;
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
    return { name: manifest.name, dir, kind: KIND_OF_GROUP[dir.split('/')[0] ?? ''] ?? 'package', declared, imported };
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
