import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './infra.js';
import { findCycles, graphProblems, readWorkspace, type WorkspaceNode } from './workspace-graph.js';

const node = (name: string, kind: WorkspaceNode['kind'], declared: string[], imported: Record<string, string> = {}): WorkspaceNode => ({
  name,
  dir: name,
  kind,
  declared: new Set(declared),
  imported: new Map(Object.entries(imported)),
});

describe('the workspace graph', () => {
  it('is a tree: no cycles, services depend only on packages, testkit on nothing, every import declared', () => {
    const nodes = readWorkspace(REPO_ROOT);
    expect(nodes.length).toBeGreaterThan(8);
    expect(graphProblems(nodes)).toEqual([]);
  });

  it('reports a cycle, a service depending on a service, a busy testkit and an undeclared import', () => {
    const nodes = [
      node('@loomwatch/a', 'package', ['@loomwatch/b']),
      node('@loomwatch/b', 'package', ['@loomwatch/a']),
      node('@loomwatch/worker', 'service', ['@loomwatch/gateway'], { '@loomwatch/a': 'services/worker/src/x.ts' }),
      node('@loomwatch/gateway', 'service', []),
      node('@loomwatch/testkit', 'package', ['@loomwatch/a']),
    ];
    expect(findCycles(nodes)).toEqual([['@loomwatch/a', '@loomwatch/b', '@loomwatch/a']]);
    expect(graphProblems(nodes)).toEqual([
      'dependency cycle: @loomwatch/a → @loomwatch/b → @loomwatch/a',
      '@loomwatch/worker (service) depends on @loomwatch/gateway, a service: only packages may be depended on',
      'services/worker/src/x.ts imports @loomwatch/a, which @loomwatch/worker\'s package.json does not declare',
      '@loomwatch/testkit depends on @loomwatch/a: testkit must stay a leaf',
    ]);
  });
});
