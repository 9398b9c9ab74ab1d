import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { deployedServices, k8sProblems, type K8sExpectations, type K8sObject } from './deploy-facts.js';
import { REPO_ROOT } from './infra.js';

// The Kustomize overlays under deploy/k8s/overlays are rendered by `kubectl kustomize` (kustomize
// built into kubectl, which every machine of this project has from apt) and every object is
// validated against its JSON Schema: Kubernetes' own (kubernetes-models) and the CRDs' (KEDA's
// ScaledObject, Prometheus Operator's ServiceMonitor), offline. Then the deployment rules of
// deploy-facts.ts. Unknown fields pass the schemas (as with kubeconform without -strict); the
// rules name the fields they rely on.

// Each model class takes its own data type; the rendered object is handed over as it is and its schema decides.
type ModelClass = new (data: never) => { validate(): void };
const MODELS: Record<string, ModelClass> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

/** Each object's schema errors, `<kind>/<name>: <ajv message>`; a kind without a schema here is an error too. */
function schemaErrors(objects: readonly K8sObject[]): string[] {
  return objects.flatMap((object) => {
    const where = `${object.kind}/${object.metadata.name}`;
    const Model = MODELS[`${object.apiVersion}/${object.kind}`];
    if (Model === undefined) return [`${where}: no schema for ${object.apiVersion} ${object.kind}`];
    try {
      new Model(object as never).validate();
      return [];
    } catch (err) {
      return [`${where}: ${err instanceof Error ? err.message : String(err)}`];
    }
  });
}

const K8S = join(REPO_ROOT, 'deploy/k8s');
const overlays = readdirSync(join(K8S, 'overlays'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

function render(dir: string): K8sObject[] {
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (result.error !== undefined) throw new Error(`kubectl is needed to render ${dir} (apt-get install kubectl): ${result.error.message}`);
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout).map((document) => document.toJS() as K8sObject);
}

function readDefault(file: string, key: string): string {
  const match = new RegExp(`\\b${key}: z[^\\n]*\\.default\\(([^)]+)\\)`).exec(readFileSync(join(REPO_ROOT, file), 'utf8'));
  if (match?.[1] === undefined) throw new Error(`${file} has no default for ${key}`);
  return match[1];
}

const EXPECT: K8sExpectations = {
  workerGroupId: readDefault('packages/frame-pipeline/src/config.ts', 'groupId').replace(/^'|'$/g, ''),
  frameTopic: 'frames.v1',
  // The exactly-once processor's fallback when the group has no offset (packages/kafka, fromBeginning ?? true).
  workerOffsetReset: 'earliest',
  workerShutdownTimeoutMs: Number(readDefault('packages/frame-pipeline/src/config.ts', 'shutdownTimeoutMs').replaceAll('_', '')),
  // deploy/k8s/overlays/production/kustomization.yaml and deploy/k8s/README.md say how to create it.
  externalSecrets: ['loomwatch-s3'],
};
const services = deployedServices(REPO_ROOT);

describe('deploy/k8s', () => {
  const rendered = new Map(overlays.map((overlay) => [overlay, render(join(K8S, 'overlays', overlay))]));

  it('has a dev and a production overlay', () => {
    expect(overlays).toEqual(['dev', 'production']);
    expect(EXPECT.workerGroupId).toBe('loomwatch-inference');
    expect(EXPECT.workerShutdownTimeoutMs).toBe(20_000);
  });

  it.each(overlays)('renders the %s overlay into objects valid against the Kubernetes, KEDA and Prometheus Operator schemas', (overlay) => {
    const objects = rendered.get(overlay) ?? [];
    expect(objects.length).toBeGreaterThan(20);
    expect(schemaErrors(objects)).toEqual([]);
  });

  it.each(overlays)('the %s overlay follows the deployment rules for every service', (overlay) => {
    expect(k8sProblems(rendered.get(overlay) ?? [], services, EXPECT)).toEqual([]);
  });

  it('scales the workers with KEDA in production only, up to the partitions of frames.v1', () => {
    const scaler = (rendered.get('production') ?? []).find((o) => o.kind === 'ScaledObject');
    expect(scaler?.spec).toMatchObject({ scaleTargetRef: { name: 'inference-worker' }, minReplicaCount: 1, maxReplicaCount: 16 });
    expect((rendered.get('dev') ?? []).some((o) => o.kind === 'ScaledObject')).toBe(false);
    const topics = (rendered.get('production') ?? []).find((o) => o.kind === 'ConfigMap' && o.data?.['FRAME_PARTITIONS'] !== undefined);
    expect(topics?.data?.['FRAME_PARTITIONS']).toBe('16');
  });

  it('a manifest with a wrongly typed or missing field is refused by the schemas', () => {
    const objects = rendered.get('production') ?? [];
    const deployment = structuredClone(objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'inference-worker'));
    const scaler = structuredClone(objects.find((o) => o.kind === 'ScaledObject'));
    if (deployment === undefined || scaler === undefined) throw new Error('the production overlay lost its worker or ScaledObject');
    const pod = (deployment.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec;
    pod.containers = [{ ...pod.containers[0], name: undefined, resources: { limits: { cpu: 'one core' } } }];
    const trigger = (scaler.spec as { triggers: Record<string, unknown>[] }).triggers[0] ?? {};
    trigger['metadata'] = { ...(trigger['metadata'] as object), lagThreshold: 5 };
    const unknown: K8sObject = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };

    const errors = schemaErrors([deployment, scaler, unknown]);
    expect(errors).toEqual([
      expect.stringMatching(/^Deployment\/inference-worker: .*containers\/0 must have required property name/),
      expect.stringMatching(/^ScaledObject\/inference-worker: .*lagThreshold must be string/),
      'Widget/w: no schema for example.com/v1 Widget',
    ]);
    expect(errors[0]).toMatch(/limits\/cpu must match format "quantity"/);
  });

  it('a render that breaks the deployment rules is refused with each broken rule named', () => {
    const objects = structuredClone(rendered.get('production') ?? []);
    const worker = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'inference-worker');
    const spec = worker?.spec as { replicas?: number; template: { spec: { terminationGracePeriodSeconds: number; containers: { readinessProbe?: unknown }[] } } };
    spec.replicas = 3;
    spec.template.spec.terminationGracePeriodSeconds = 10;
    delete spec.template.spec.containers[0]?.readinessProbe;
    const scaler = objects.find((o) => o.kind === 'ScaledObject');
    const so = scaler?.spec as { maxReplicaCount: number; triggers: { metadata: Record<string, string> }[] };
    so.maxReplicaCount = 32;
    if (so.triggers[0] !== undefined) Object.assign(so.triggers[0].metadata, { lagThreshold: '50', offsetResetPolicy: 'latest' });
    const withoutPdb = objects.filter((o) => !(o.kind === 'PodDisruptionBudget' && o.metadata.name === 'alerting'));

    expect(k8sProblems(withoutPdb, services, EXPECT)).toEqual([
      'Deployment alerting has no PodDisruptionBudget',
      'Deployment inference-worker has no readiness probe on /readyz of its ops port',
      'Deployment inference-worker: terminationGracePeriodSeconds 10 s does not cover its 20 s drain and a 5 s margin',
      'Deployment inference-worker sets replicas, which the ScaledObject owns: every apply would reset them',
      'ScaledObject inference-worker: maxReplicaCount 32 exceeds the 16 partitions of frames.v1',
      'ScaledObject inference-worker: offsetResetPolicy latest, but the workers start a partition without an offset at the earliest',
      'ScaledObject inference-worker: lagThreshold 50 is not floor(0.555 frames/s per worker × 10 s target latency) = 5',
    ]);
  });
});
