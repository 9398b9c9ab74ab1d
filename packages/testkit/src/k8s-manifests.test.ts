import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { authDisabled, deployedServices, k8sProblems, type K8sExpectations, type K8sObject } from './deploy-facts.js';
import { networkPolicyProblems } from './k8s-network.js';
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
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
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

/** The Secrets deploy/k8s/README.md tells a plant to create: the first column of its "Secrets a plant creates" table. */
function documentedSecrets(): string[] {
  const readme = readFileSync(join(K8S, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((part) => part.startsWith('Secrets a plant creates')) ?? '';
  return [...section.matchAll(/^\| `(loomwatch-[\w-]+)` \|/gm)].map((match) => match[1] ?? '');
}

const EXPECT: K8sExpectations = {
  workerGroupId: readDefault('packages/frame-pipeline/src/config.ts', 'groupId').replace(/^'|'$/g, ''),
  frameTopic: 'frames.v1',
  // The exactly-once processor's fallback when the group has no offset (packages/kafka, fromBeginning ?? true).
  workerOffsetReset: 'earliest',
  workerShutdownTimeoutMs: Number(readDefault('packages/frame-pipeline/src/config.ts', 'shutdownTimeoutMs').replaceAll('_', '')),
  // Created out of band by the plant, each named in deploy/k8s/README.md.
  externalSecrets: documentedSecrets(),
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

  it('names in its README every Secret a plant creates, each with the keys the Deployments read', () => {
    expect(EXPECT.externalSecrets).toEqual(
      expect.arrayContaining(['loomwatch-s3', 'loomwatch-s3-readonly', 'loomwatch-api', 'loomwatch-camera-credentials', 'loomwatch-dashboard-auth', 'loomwatch-kafka-inference-worker']),
    );
    // The dev overlay generates each of them with development values: nothing is left to chance there.
    const devSecrets = (rendered.get('dev') ?? []).filter((o) => o.kind === 'Secret').map((o) => o.metadata.name.replace(/-[a-z0-9]{10}$/, ''));
    expect(devSecrets.sort()).toEqual([...EXPECT.externalSecrets].sort());
  });

  it('never turns authentication off in production; the dev overlay only signs nobody in to its dashboard', () => {
    expect(authDisabled(rendered.get('production') ?? [])).toEqual([]);
    expect(authDisabled(rendered.get('dev') ?? [])).toEqual(['Deployment dashboard sets LOOMWATCH_AUTH__MODE=none']);
  });

  it('a render that turns authentication off or makes a Secret optional is refused', () => {
    const objects = structuredClone(rendered.get('production') ?? []);
    const container = (name: string) => {
      const deployment = objects.find((o) => (o.kind === 'Deployment' || o.kind === 'StatefulSet') && o.metadata.name === name);
      const found = (deployment?.spec as { template: { spec: { containers: Record<string, unknown>[] } } } | undefined)?.template.spec.containers[0];
      if (found === undefined) throw new Error(`the production overlay lost Deployment ${name}`);
      return found as { env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { optional?: boolean } } }[]; args?: string[] };
    };
    const api = container('inference-api');
    api.env.push({ name: 'LOOMWATCH_API__AUTH', value: 'none' });
    const token = api.env.find((variable) => variable.name === 'LOOMWATCH_API_TOKEN')?.valueFrom?.secretKeyRef;
    if (token !== undefined) token.optional = true;
    container('dashboard').args = ['--set', 'auth.mode=none'];
    container('camera-gateway').env.push({ name: 'LOOMWATCH_HTTP__AUTH', value: 'none' });
    const env = objects.find((o) => o.kind === 'ConfigMap' && o.data?.['KAFKA_BROKERS'] !== undefined);
    if (env?.data !== undefined) env.data['LOOMWATCH_AUTH__MODE'] = 'none';

    expect(authDisabled(objects)).toEqual([
      expect.stringMatching(/^ConfigMap loomwatch-env-\w+ sets LOOMWATCH_AUTH__MODE=none$/),
      'Deployment camera-gateway sets LOOMWATCH_HTTP__AUTH=none',
      'Deployment dashboard passes auth.mode=none',
      'Deployment inference-api sets LOOMWATCH_API__AUTH=none',
    ]);
    expect(k8sProblems(objects, services, EXPECT)).toEqual([
      'Deployment inference-api: Secret loomwatch-api is optional, so a missing Secret starts the pod without its credentials; it must stop it',
    ]);
  });

  it('a topics Job argument that names no variable, or a topics ConfigMap key no argument reads, is refused', () => {
    const objects = structuredClone(rendered.get('production') ?? []);
    const job = objects.find((o) => o.kind === 'Job' && o.metadata.name === 'loomwatch-topics');
    const container = (job?.spec as { template: { spec: { containers: { args?: string[] }[] } } } | undefined)?.template.spec.containers[0];
    if (container?.args === undefined) throw new Error('the production overlay lost the topics Job or its arguments');
    container.args = container.args.map((arg) => arg.replace('$(REPLICATION)', '$(REPLICAS)'));
    const topics = objects.find((o) => o.kind === 'ConfigMap' && o.data?.['FRAME_PARTITIONS'] !== undefined);
    if (topics?.data !== undefined) topics.data['PARTITIONS'] = '4';

    expect(k8sProblems(objects, services, EXPECT)).toEqual([
      'Job loomwatch-topics: $(REPLICAS) in its command is no variable of its ConfigMaps or env, so it reaches the program as it is',
      expect.stringMatching(/^ConfigMap loomwatch-topics-\w+: REPLICATION is read by no argument of Job loomwatch-topics$/),
      expect.stringMatching(/^ConfigMap loomwatch-topics-\w+: PARTITIONS is read by no argument of Job loomwatch-topics$/),
    ]);
  });

  it.each(overlays)('the %s overlay denies by default and opens each service only to its callers and destinations', (overlay) => {
    const objects = rendered.get(overlay) ?? [];
    expect(objects.filter((o) => o.kind === 'NetworkPolicy').length).toBeGreaterThanOrEqual(8);
    expect(networkPolicyProblems(objects)).toEqual([]);
  });

  it('network policies that leave a port shut, open an undeclared one, or block the brokers, S3 or DNS are refused', () => {
    const objects = structuredClone(rendered.get('production') ?? []).filter(
      (o) => !(o.kind === 'NetworkPolicy' && ['default-deny', 'dashboard-from-ingress', 'egress-dns'].includes(o.metadata.name)),
    );
    const policy = (name: string) => objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === name)?.spec as { ingress?: { ports: { port: string | number }[] }[]; egress?: { ports: { port: number }[] }[] };
    const ingest = policy('camera-gateway-ingest').ingress?.[0]?.ports[0];
    if (ingest !== undefined) ingest.port = 'ingest';
    const kafka = policy('egress-kafka').egress?.[0]?.ports[0];
    if (kafka !== undefined) kafka.port = 9093;
    const s3 = policy('egress-s3').egress?.[0]?.ports[0];
    if (s3 !== undefined) s3.port = 80;

    expect(networkPolicyProblems(objects)).toEqual([
      'no NetworkPolicy denies ingress to every pod of the namespace by default',
      'no NetworkPolicy denies egress to every pod of the namespace by default',
      'Deployment alerting uses Kafka (kafka-bootstrap.kafka.svc:9092), but no NetworkPolicy lets it out to port 9092',
      'Deployment alerting may go out but cannot look names up (no egress to port 53/UDP)',
      'NetworkPolicy camera-gateway-ingest opens port ingest of Deployment camera-gateway, which declares no such port',
      'Deployment camera-gateway: port http (8080) is open to no one',
      'Deployment camera-gateway uses Kafka (kafka-bootstrap.kafka.svc:9092), but no NetworkPolicy lets it out to port 9092',
      'Deployment camera-gateway uses S3 (https://s3.eu-central-1.amazonaws.com), but no NetworkPolicy lets it out to port 443',
      'Deployment camera-gateway may go out but cannot look names up (no egress to port 53/UDP)',
      'Deployment dashboard: port http (8095) is open to no one',
      // Its S3 check passes through the identity provider's 443: NetworkPolicy sees ports and addresses, not names.
      'Deployment dashboard uses Kafka (kafka-bootstrap.kafka.svc:9092), but no NetworkPolicy lets it out to port 9092',
      'Deployment dashboard may go out but cannot look names up (no egress to port 53/UDP)',
      'Deployment drift-monitor uses Kafka (kafka-bootstrap.kafka.svc:9092), but no NetworkPolicy lets it out to port 9092',
      'Deployment drift-monitor may go out but cannot look names up (no egress to port 53/UDP)',
      'StatefulSet inference-worker uses Kafka (kafka-bootstrap.kafka.svc:9092), but no NetworkPolicy lets it out to port 9092',
      'StatefulSet inference-worker uses S3 (https://s3.eu-central-1.amazonaws.com), but no NetworkPolicy lets it out to port 443',
      'StatefulSet inference-worker may go out but cannot look names up (no egress to port 53/UDP)',
      'Job loomwatch-topics uses Kafka (kafka-bootstrap.kafka.svc:9092), but no NetworkPolicy lets it out to port 9092',
      'Job loomwatch-topics may go out but cannot look names up (no egress to port 53/UDP)',
      'Job retrainer uses Kafka (kafka-bootstrap.kafka.svc:9092), but no NetworkPolicy lets it out to port 9092',
      'Job retrainer uses S3 (https://s3.eu-central-1.amazonaws.com), but no NetworkPolicy lets it out to port 443',
      'Job retrainer may go out but cannot look names up (no egress to port 53/UDP)',
    ]);
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
    const deployment = structuredClone(objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'inference-worker'));
    const scaler = structuredClone(objects.find((o) => o.kind === 'ScaledObject'));
    if (deployment === undefined || scaler === undefined) throw new Error('the production overlay lost its worker or ScaledObject');
    const pod = (deployment.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec;
    pod.containers = [{ ...pod.containers[0], name: undefined, resources: { limits: { cpu: 'one core' } } }];
    const trigger = (scaler.spec as { triggers: Record<string, unknown>[] }).triggers[0] ?? {};
    trigger['metadata'] = { ...(trigger['metadata'] as object), lagThreshold: 5 };
    const unknown: K8sObject = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };

    const errors = schemaErrors([deployment, scaler, unknown]);
    expect(errors).toEqual([
      expect.stringMatching(/^StatefulSet\/inference-worker: .*containers\/0 must have required property name/),
      expect.stringMatching(/^ScaledObject\/inference-worker: .*lagThreshold must be string/),
      'Widget/w: no schema for example.com/v1 Widget',
    ]);
    expect(errors[0]).toMatch(/limits\/cpu must match format "quantity"/);
  });

  it('a render that breaks the deployment rules is refused with each broken rule named', () => {
    const objects = structuredClone(rendered.get('production') ?? []);
    const worker = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'inference-worker');
    const spec = worker?.spec as { replicas?: number; template: { spec: { terminationGracePeriodSeconds: number; containers: { readinessProbe?: unknown; env: { name: string; value?: string; valueFrom?: unknown }[] }[] } } };
    spec.replicas = 3;
    const workerId = spec.template.spec.containers[0]?.env.find((variable) => variable.name === 'WORKER_ID');
    if (workerId !== undefined) {
      delete workerId.valueFrom;
      workerId.value = 'worker';
    }
    spec.template.spec.terminationGracePeriodSeconds = 10;
    delete spec.template.spec.containers[0]?.readinessProbe;
    const scaler = objects.find((o) => o.kind === 'ScaledObject');
    const so = scaler?.spec as { maxReplicaCount: number; triggers: { metadata: Record<string, string> }[] };
    so.maxReplicaCount = 32;
    (scaler?.spec as { scaleTargetRef: { kind?: string } }).scaleTargetRef.kind = 'Deployment';
    if (so.triggers[0] !== undefined) Object.assign(so.triggers[0].metadata, { lagThreshold: '50', offsetResetPolicy: 'latest' });
    const withoutPdb = objects.filter((o) => !(o.kind === 'PodDisruptionBudget' && o.metadata.name === 'alerting'));

    expect(k8sProblems(withoutPdb, services, EXPECT)).toEqual([
      'Deployment alerting has no PodDisruptionBudget',
      'StatefulSet inference-worker has no readiness probe on /readyz of its ops port',
      "StatefulSet inference-worker: WORKER_ID is not the pod's name (fieldRef metadata.name), so workers share or lose their group.instance.id",
      'StatefulSet inference-worker: terminationGracePeriodSeconds 10 s does not cover its 20 s drain and a 5 s margin',
      'StatefulSet inference-worker sets replicas, which the ScaledObject owns: every apply would reset them',
      'ScaledObject inference-worker scales a Deployment inference-worker, but the workers are a StatefulSet',
      'ScaledObject inference-worker: maxReplicaCount 32 exceeds the 16 partitions of frames.v1',
      'ScaledObject inference-worker: offsetResetPolicy latest, but the workers start a partition without an offset at the earliest',
      'ScaledObject inference-worker: lagThreshold 50 is not floor(0.555 frames/s per worker × 10 s target latency) = 5',
    ]);
  });
});
