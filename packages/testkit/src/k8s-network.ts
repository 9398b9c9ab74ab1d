/**
 * What the NetworkPolicies of a rendered deploy/k8s overlay must hold to: deny by default in both
 * directions, every port a policy opens is one its pods declare, every port a pod declares is open
 * to someone, and every pod can reach what its configuration names (the brokers of KAFKA_BROKERS,
 * the S3 of S3_ENDPOINT, DNS). Read by `k8s-manifests.test.ts`.
 */
import type { K8sObject } from './deploy-facts.js';

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}
interface PolicyPort {
  port?: number | string;
  protocol?: string;
}
interface PolicyRule {
  ports?: PolicyPort[];
}
interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes?: ('Ingress' | 'Egress')[];
  ingress?: PolicyRule[];
  egress?: PolicyRule[];
}
interface Ref {
  name: string;
}
interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: {
    containers: {
      ports?: { name?: string; containerPort: number }[];
      envFrom?: { configMapRef?: Ref; secretRef?: Ref }[];
      env?: { name: string; valueFrom?: { configMapKeyRef?: Ref & { key: string } } }[];
    }[];
  };
}

/** Whether a label selector picks a pod with these labels (an empty selector picks every pod). */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string> = {}): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpressions = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    switch (operator) {
      case 'In':
        return labels[key] !== undefined && values.includes(labels[key]);
      case 'NotIn':
        return labels[key] === undefined || !values.includes(labels[key]);
      case 'Exists':
        return labels[key] !== undefined;
      case 'DoesNotExist':
        return labels[key] === undefined;
    }
  });
  return byLabels && byExpressions;
}

/** Kubernetes' defaults: Ingress always, Egress when the policy has egress rules. */
const policyTypes = (spec: NetworkPolicySpec): string[] => spec.policyTypes ?? ['Ingress', ...(spec.egress === undefined ? [] : ['Egress'])];

/** Whether a rule lets TCP (or `protocol`) traffic to `port` through; a rule without ports allows every port. */
function ruleAllows(rule: PolicyRule, port: number, protocol = 'TCP', portName?: string): boolean {
  if (rule.ports === undefined || rule.ports.length === 0) return true;
  return rule.ports.some((p) => (p.protocol ?? 'TCP') === protocol && (p.port === undefined || p.port === port || (portName !== undefined && p.port === portName)));
}

/** The port of the first `host:port` of a broker list, or of a URL (its scheme's default when it names none). */
function portOf(address: string | undefined): number | undefined {
  if (address === undefined) return undefined;
  if (/^https?:\/\//.test(address)) {
    const url = new URL(address);
    return url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  }
  const port = Number(address.split(',')[0]?.split(':').at(-1));
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/** Every way the rendered objects' NetworkPolicies break the rules above, one sentence each. */
export function networkPolicyProblems(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => ({ name: o.metadata.name, spec: o.spec as NetworkPolicySpec }));
  const workloads = objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'Job')
    .map((o) => ({ where: `${o.kind} ${o.metadata.name}`, kind: o.kind, pod: (o.spec as { template: PodTemplate }).template }));
  const env = objects.find((o) => o.kind === 'ConfigMap' && o.data?.['KAFKA_BROKERS'] !== undefined)?.data ?? {};

  for (const direction of ['Ingress', 'Egress'] as const) {
    const rules = direction === 'Ingress' ? 'ingress' : 'egress';
    const denies = policies.some(({ spec }) => Object.keys(spec.podSelector).length === 0 && policyTypes(spec).includes(direction) && (spec[rules] ?? []).length === 0);
    if (!denies) problems.push(`no NetworkPolicy denies ${rules} to every pod of the namespace by default`);
  }

  for (const workload of workloads) {
    const labels = workload.pod.metadata?.labels;
    const selecting = policies.filter(({ spec }) => selectorMatches(spec.podSelector, labels));
    const ports = workload.pod.spec.containers.flatMap((c) => c.ports ?? []);
    const ingress = selecting.filter(({ spec }) => policyTypes(spec).includes('Ingress')).flatMap(({ name, spec }) => (spec.ingress ?? []).map((rule) => ({ name, rule })));
    const egress = selecting.filter(({ spec }) => policyTypes(spec).includes('Egress')).flatMap(({ spec }) => spec.egress ?? []);

    for (const { name, rule } of ingress) {
      for (const p of rule.ports ?? []) {
        if (!ports.some((declared) => p.port === declared.containerPort || p.port === declared.name)) {
          problems.push(`NetworkPolicy ${name} opens port ${String(p.port)} of ${workload.where}, which declares no such port`);
        }
      }
    }
    for (const declared of ports) {
      if (!ingress.some(({ rule }) => ruleAllows(rule, declared.containerPort, 'TCP', declared.name))) {
        problems.push(`${workload.where}: port ${declared.name ?? declared.containerPort} (${declared.containerPort}) is open to no one`);
      }
    }

    const containers = workload.pod.spec.containers;
    const readsKafka = containers.some(
      (c) => (c.envFrom ?? []).some((from) => from.secretRef?.name.startsWith('loomwatch-kafka-')) || (c.env ?? []).some((e) => e.valueFrom?.configMapKeyRef?.key === 'KAFKA_BROKERS'),
    );
    const readsS3 = containers.some((c) => (c.envFrom ?? []).some((from) => from.secretRef?.name.startsWith('loomwatch-s3')));
    const needs: { what: string; port: number | undefined }[] = [
      ...(readsKafka ? [{ what: `Kafka (${env['KAFKA_BROKERS']})`, port: portOf(env['KAFKA_BROKERS']) }] : []),
      ...(readsS3 ? [{ what: `S3 (${env['S3_ENDPOINT']})`, port: portOf(env['S3_ENDPOINT']) }] : []),
    ];
    for (const { what, port } of needs) {
      if (port === undefined || !egress.some((rule) => ruleAllows(rule, port))) problems.push(`${workload.where} uses ${what}, but no NetworkPolicy lets it out to port ${port}`);
    }
    if (egress.length > 0 && !egress.some((rule) => ruleAllows(rule, 53, 'UDP'))) problems.push(`${workload.where} may go out but cannot look names up (no egress to port 53/UDP)`);
  }
  return problems;
}
