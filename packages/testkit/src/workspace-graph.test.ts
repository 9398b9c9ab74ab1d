import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './infra.js';
import { RUNTIME_RULES, findCycles, graphProblems, readRuntimeGraph, readWorkspace, runtimePath, runtimeProblems, type WorkspaceNode } from './workspace-graph.js';

const node = (name: string, kind: WorkspaceNode['kind'], declared: string[], imported: Record<string, string> = {}): WorkspaceNode => ({
  name,
  dir: name,
  kind,
  declared: new Set(declared),
  imported: new Map(Object.entries(imported)),
  runtime: [],
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

describe('what each package loads at run time', () => {
  const graph = readRuntimeGraph(REPO_ROOT, readWorkspace(REPO_ROOT));

  it('holds every runtime rule: the registry, contracts and shared helpers load no runtime, the services that run no model carry no model runtime, the overlay renderer no client, the API no Kafka client', () => {
    expect(runtimeProblems(graph)).toEqual([]);
  });

  it('sees the runtimes where they are loaded, through workspace packages and node_modules alike', () => {
    // So the rules above can fail: the walk reaches what the worker and the dashboard really load.
    expect(runtimePath(graph, '@loomwatch/frame-pipeline', 'onnxruntime-node')).toEqual(['@loomwatch/frame-pipeline', '@loomwatch/inference', 'onnxruntime-node']);
    expect(runtimePath(graph, '@loomwatch/dashboard', '@aws-sdk/*')).toEqual(['@loomwatch/dashboard', '@loomwatch/storage', '@aws-sdk/client-s3']);
    expect(runtimePath(graph, '@loomwatch/dashboard', 'sharp')).toEqual(['@loomwatch/dashboard', '@loomwatch/overlay', 'sharp']);
    expect(runtimePath(graph, '@loomwatch/dashboard', 'onnxruntime-node')).toBeUndefined();
    // A package of a package: fastify's own dependencies are read from node_modules.
    expect(runtimePath(graph, '@loomwatch/http', 'find-my-way')).toEqual(['@loomwatch/http', 'fastify', 'find-my-way']);
  });

  it('reports a forbidden runtime with the chain that loads it, a scope pattern, and a rule naming no package', () => {
    const fake = new Map<string, Set<string>>([
      ['@loomwatch/api', new Set(['@loomwatch/pipeline', 'zod'])],
      ['@loomwatch/pipeline', new Set(['@loomwatch/kafka', '@aws-sdk/client-s3'])],
      ['@loomwatch/kafka', new Set(['@platformatic/kafka'])],
    ]);
    const rules = [
      { packages: ['@loomwatch/api'], forbidden: ['@platformatic/kafka', '@aws-sdk/*', 'sharp'], why: 'no clients' },
      { packages: ['@loomwatch/gone'], forbidden: ['sharp'], why: 'none' },
    ];
    expect(runtimeProblems(fake, rules)).toEqual([
      '@loomwatch/api loads @platformatic/kafka at run time (@loomwatch/api → @loomwatch/pipeline → @loomwatch/kafka → @platformatic/kafka): no clients',
      '@loomwatch/api loads @aws-sdk/client-s3 at run time (@loomwatch/api → @loomwatch/pipeline → @aws-sdk/client-s3): no clients',
      '@loomwatch/gone is named by a runtime rule but is not in the workspace',
    ]);
    expect(RUNTIME_RULES.flatMap((rule) => rule.packages)).toContain('@loomwatch/model-registry');
    expect(RUNTIME_RULES.flatMap((rule) => rule.packages)).toContain('@loomwatch/overlay');
  });
});
