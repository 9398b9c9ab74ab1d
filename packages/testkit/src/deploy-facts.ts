/**
 * What the deployment files (deploy/docker, docker-compose.yml, deploy/k8s) must agree with: the
 * long-running services (a `services/<dir>` with `src/main.ts`), the ops port each one's config
 * defaults to, and the rules every service image follows. What `docker-compose.test.ts` and
 * `k8s-manifests.test.ts` hold those files to.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface DeployedService {
  /** The directory under services/, also the image's and the Deployment's name. */
  name: string;
  /** `/healthz`, `/readyz`, `/metrics`: the default of the service's `ops.port` (its `opsConfig(port)`). */
  opsPort: number;
}

/** Every `services/<dir>` with a `src/main.ts`, with the ops port its config.ts defaults to. */
export function deployedServices(repoRoot: string): DeployedService[] {
  const servicesDir = join(repoRoot, 'services');
  return readdirSync(servicesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(servicesDir, entry.name, 'src/main.ts')))
    .map((entry) => {
      const config = readFileSync(join(servicesDir, entry.name, 'src/config.ts'), 'utf8');
      const match = /\bopsConfig\((\d+)\)/.exec(config);
      if (match?.[1] === undefined) throw new Error(`services/${entry.name}/src/config.ts has no opsConfig(<port>)`);
      return { name: entry.name, opsPort: Number(match[1]) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

export interface DockerInstruction {
  /** Upper-case, e.g. `FROM`. */
  keyword: string;
  args: string;
}

/** A Dockerfile's instructions, continuation lines joined, comments and parser directives left out. */
export function dockerInstructions(text: string): DockerInstruction[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (current !== '' && line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(current + line);
    current = '';
  }
  if (current !== '') logical.push(current);
  return logical.map((line) => {
    const space = line.search(/\s/);
    return space < 0 ? { keyword: line.toUpperCase(), args: '' } : { keyword: line.slice(0, space).toUpperCase(), args: line.slice(space).trim() };
  });
}

/** A JSON-form (exec form) argument list, or undefined for the shell form. */
function execForm(args: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every way a service's Dockerfile breaks the image rules, one sentence each: multi-stage with a
 * pinned base image, the service's production dependencies only (deploy/docker/prune.sh), a
 * numeric non-root user in the runtime stage, its ops port exposed and a HEALTHCHECK on its
 * `/healthz`, and the process started as `node services/<name>/dist/main.js` in exec form.
 */
export function dockerfileProblems(text: string, service: DeployedService): string[] {
  const problems: string[] = [];
  const instructions = dockerInstructions(text);
  const stages = instructions.filter((i) => i.keyword === 'FROM');
  if (stages.length < 2) problems.push('is not multi-stage: the runtime stage must not hold the build toolchain and dev dependencies');
  const args = new Map(instructions.filter((i) => i.keyword === 'ARG').map((i) => [i.args.split('=')[0] ?? '', i.args.split('=')[1] ?? '']));
  for (const stage of stages) {
    const image = stage.args.split(/\s+/)[0] ?? '';
    const resolved = image.replace(/^\$\{(\w+)\}$/, (_, name: string) => args.get(name) ?? image);
    if (!/^[\w./-]+:[\w.-]*\d+\.\d+\.\d+[\w.-]*$/.test(resolved)) problems.push(`FROM ${image} is not pinned to an exact version`);
  }
  const lastFrom = instructions.lastIndexOf(stages.at(-1) ?? { keyword: '', args: '' });
  const runtime = instructions.slice(lastFrom + 1);
  if (!instructions.some((i) => i.keyword === 'RUN' && i.args.includes(`prune.sh @loomwatch/${service.name} `))) {
    problems.push(`does not prune to @loomwatch/${service.name}'s production dependencies (deploy/docker/prune.sh)`);
  }
  const user = runtime.filter((i) => i.keyword === 'USER').at(-1)?.args;
  if (user === undefined || !/^[1-9]\d*(:\d+)?$/.test(user)) {
    problems.push(`runs as ${user ?? 'root (no USER)'}: the runtime stage needs a numeric non-root USER (Kubernetes checks runAsNonRoot by number)`);
  }
  const exposed = runtime.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
  if (!exposed.includes(String(service.opsPort))) problems.push(`does not EXPOSE its ops port ${service.opsPort}`);
  const healthcheck = runtime.find((i) => i.keyword === 'HEALTHCHECK')?.args ?? '';
  if (!healthcheck.includes(`127.0.0.1:${service.opsPort}/healthz`)) problems.push(`has no HEALTHCHECK on 127.0.0.1:${service.opsPort}/healthz`);
  const start = runtime
    .filter((i) => i.keyword === 'ENTRYPOINT' || i.keyword === 'CMD')
    .map((i) => ({ keyword: i.keyword, argv: execForm(i.args) }));
  const entrypoint = start.filter((s) => s.keyword === 'ENTRYPOINT').at(-1);
  const argv = entrypoint !== undefined ? entrypoint.argv : start.filter((s) => s.keyword === 'CMD').at(-1)?.argv;
  const main = `services/${service.name}/dist/main.js`;
  if (argv?.[0] !== 'node' || argv[1] !== main) problems.push(`does not start \`node ${main}\` in exec form (signals must reach node)`);
  return problems;
}

/** The settings that turn authentication off: the inference API's `api.auth`, the gateway's `http.auth` and the dashboard's `auth.mode`. */
const AUTH_OFF = ['LOOMWATCH_API__AUTH', 'LOOMWATCH_HTTP__AUTH', 'LOOMWATCH_AUTH__MODE'];

/**
 * Where a render turns authentication off (`LOOMWATCH_API__AUTH=none`, `LOOMWATCH_HTTP__AUTH=none`,
 * `LOOMWATCH_AUTH__MODE=none`, or the same as `--set` arguments), in a container's environment or
 * arguments or in a ConfigMap, one line each: the production overlay must have none.
 */
export function authDisabled(objects: readonly K8sObject[]): string[] {
  const found: string[] = [];
  for (const object of objects) {
    const where = `${object.kind} ${object.metadata.name}`;
    for (const [key, value] of Object.entries(object.data ?? {})) if (AUTH_OFF.includes(key) && value.trim() === 'none') found.push(`${where} sets ${key}=none`);
    const pod = (object.spec as Partial<WorkloadSpec> | undefined)?.template;
    for (const container of pod?.spec.containers ?? []) {
      for (const variable of container.env ?? []) if (AUTH_OFF.includes(variable.name) && variable.value?.trim() === 'none') found.push(`${where} sets ${variable.name}=none`);
      for (const arg of container.args ?? []) if (/^(api\.auth|http\.auth|auth\.mode)=none$/.test(arg)) found.push(`${where} passes ${arg}`);
    }
  }
  return found;
}

/** A rendered Kubernetes object, as far as the checks below read it (every other field is left to the schemas). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: unknown;
  data?: Record<string, string>;
}

interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { configMapKeyRef?: Ref; secretKeyRef?: Ref } }[];
  envFrom?: { configMapRef?: Ref; secretRef?: Ref }[];
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
}
interface Ref {
  name: string;
  optional?: boolean;
}
interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: {
    terminationGracePeriodSeconds?: number;
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
    containers: Container[];
    volumes?: { name: string; configMap?: Ref; secret?: { secretName: string; optional?: boolean } }[];
  };
}
interface WorkloadSpec {
  replicas?: number;
  selector?: { matchLabels?: Record<string, string> };
  template: PodTemplate;
}
interface ServiceSpec {
  selector?: Record<string, string>;
  ports?: { name?: string; port: number; targetPort?: string | number }[];
}
interface KafkaTrigger {
  type: string;
  metadata: Record<string, string>;
}
interface ScaledObjectSpec {
  scaleTargetRef: { name: string; kind?: string };
  minReplicaCount?: number;
  maxReplicaCount?: number;
  triggers: KafkaTrigger[];
}

export interface K8sExpectations {
  /** The worker's consumer group, which the ScaledObject must measure. */
  workerGroupId: string;
  /** The topic the workers read. */
  frameTopic: string;
  /** Where the worker group starts on a partition without a committed offset: the scaler must count lag the same way. */
  workerOffsetReset: 'earliest' | 'latest';
  /** worker.shutdownTimeoutMs when the Deployment does not set LOOMWATCH_WORKER__SHUTDOWN_TIMEOUT_MS. */
  workerShutdownTimeoutMs: number;
  /** Secrets created out of band (deploy/k8s/README.md names each), which the render may name without holding. */
  externalSecrets: readonly string[];
}

const selects = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels?.[key] === value);

const probeOn = (probe: Probe | undefined, path: string, port: number): boolean =>
  probe?.httpGet?.path === path && (probe.httpGet.port === 'ops' || probe.httpGet.port === port);

/**
 * Every way a rendered set of manifests breaks the deployment rules, one sentence each: each
 * service a Deployment with its ops port named `ops`, `/readyz` and `/healthz` probes on it, CPU and
 * memory requests and a memory limit, a non-root pod, a PodDisruptionBudget and a Service naming the
 * ops port; the worker's grace period covering its drain; every ConfigMap and Secret it names
 * present, and no Secret optional (fail closed); the ScaledObject on the worker group's lag of the frame topic, its lagThreshold the
 * product of its sizing annotations, its maximum within the partitions of the frame topic, and the
 * worker's replica count left to it; a ServiceMonitor, when there is one, finding every Service.
 */
export function k8sProblems(objects: readonly K8sObject[], services: readonly DeployedService[], expect: K8sExpectations): string[] {
  const problems: string[] = [];
  const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const named = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  const workloads = [...ofKind('Deployment'), ...ofKind('StatefulSet'), ...ofKind('Job')];
  const configMaps = new Set(ofKind('ConfigMap').map((o) => o.metadata.name));
  const secrets = new Set([...ofKind('Secret').map((o) => o.metadata.name), ...expect.externalSecrets]);
  const env = ofKind('ConfigMap').find((o) => o.data?.['KAFKA_BROKERS'] !== undefined);
  const topics = ofKind('ConfigMap').find((o) => o.data?.['FRAME_PARTITIONS'] !== undefined);
  const framePartitions = Number(topics?.data?.['FRAME_PARTITIONS']);
  if (topics === undefined) problems.push('no ConfigMap sets FRAME_PARTITIONS for the topics Job');
  if (!ofKind('Job').some((job) => (job.spec as WorkloadSpec).template.spec.containers.some((c) => c.envFrom?.some((e) => e.configMapRef?.name === topics?.metadata.name)))) {
    problems.push('no Job provisions the topics with the FRAME_PARTITIONS ConfigMap');
  }
  // Kubernetes passes a $(VAR) it cannot resolve on as it is; a key of the topics ConfigMap no argument reads is dead.
  for (const job of ofKind('Job')) {
    for (const container of (job.spec as WorkloadSpec).template.spec.containers) {
      const read = new Set((container.envFrom ?? []).flatMap((from) => Object.keys(objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef?.name)?.data ?? {})));
      for (const name of (container.env ?? []).map((variable) => variable.name)) read.add(name);
      const used = new Set([...(container.command ?? []), ...(container.args ?? [])].flatMap((arg) => [...arg.matchAll(/\$\((\w+)\)/g)].map((match) => match[1] ?? '')));
      for (const name of used) if (!read.has(name)) problems.push(`Job ${job.metadata.name}: $(${name}) in its command is no variable of its ConfigMaps or env, so it reaches the program as it is`);
      if (container.envFrom?.some((from) => from.configMapRef?.name === topics?.metadata.name) === true) {
        for (const key of Object.keys(topics?.data ?? {})) if (!used.has(key)) problems.push(`ConfigMap ${topics?.metadata.name ?? ''}: ${key} is read by no argument of Job ${job.metadata.name}`);
      }
    }
  }

  for (const workload of workloads) {
    const where = `${workload.kind} ${workload.metadata.name}`;
    const pod = (workload.spec as WorkloadSpec).template;
    const needConfigMap = (ref: Ref | undefined) => {
      if (ref !== undefined && ref.optional !== true && !configMaps.has(ref.name)) problems.push(`${where} names ConfigMap ${ref.name}, which the render does not hold`);
    };
    const needSecret = (ref: Ref | undefined) => {
      if (ref === undefined) return;
      if (ref.optional === true) problems.push(`${where}: Secret ${ref.name} is optional, so a missing Secret starts the pod without its credentials; it must stop it`);
      else if (!secrets.has(ref.name)) problems.push(`${where} names Secret ${ref.name}, which the render does not hold and no README creates`);
    };
    for (const container of pod.spec.containers) {
      for (const from of container.envFrom ?? []) {
        needConfigMap(from.configMapRef);
        needSecret(from.secretRef);
      }
      for (const variable of container.env ?? []) {
        needConfigMap(variable.valueFrom?.configMapKeyRef);
        needSecret(variable.valueFrom?.secretKeyRef);
      }
    }
    for (const volume of pod.spec.volumes ?? []) {
      needConfigMap(volume.configMap);
      if (volume.secret !== undefined) needSecret({ name: volume.secret.secretName, ...(volume.secret.optional === undefined ? {} : { optional: volume.secret.optional }) });
    }
  }

  for (const service of services) {
    // The workers are a StatefulSet (stable pod names, their static group membership); the rest Deployments.
    const deployment = named('Deployment', service.name) ?? named('StatefulSet', service.name);
    if (deployment === undefined) {
      problems.push(`no Deployment for ${service.name}`);
      continue;
    }
    const where = `${deployment.kind} ${service.name}`;
    const spec = deployment.spec as WorkloadSpec;
    const labels = spec.template.metadata?.labels;
    const container = spec.template.spec.containers[0];
    if (container === undefined) continue;
    if (container.image === undefined || !container.image.includes(`/${service.name}:`)) problems.push(`${where} runs ${container.image ?? 'no image'}, not the ${service.name} image`);
    const ops = container.ports?.find((port) => port.name === 'ops');
    if (ops?.containerPort !== service.opsPort) problems.push(`${where} does not name its ops port ${service.opsPort} \`ops\``);
    if (!probeOn(container.readinessProbe, '/readyz', service.opsPort)) problems.push(`${where} has no readiness probe on /readyz of its ops port`);
    if (!probeOn(container.livenessProbe, '/healthz', service.opsPort)) problems.push(`${where} has no liveness probe on /healthz of its ops port`);
    const { requests = {}, limits = {} } = container.resources ?? {};
    if (requests['cpu'] === undefined || requests['memory'] === undefined || limits['memory'] === undefined) {
      problems.push(`${where} lacks a CPU request, a memory request or a memory limit`);
    }
    const security = spec.template.spec.securityContext;
    if (security?.runAsNonRoot !== true || security.runAsUser === 0) problems.push(`${where} may run as root`);
    if (!ofKind('PodDisruptionBudget').some((pdb) => selects((pdb.spec as WorkloadSpec).selector?.matchLabels, labels))) problems.push(`${where} has no PodDisruptionBudget`);
    const exposed = ofKind('Service').some(
      (svc) => selects((svc.spec as ServiceSpec).selector, labels) && (svc.spec as ServiceSpec).ports?.some((port) => port.name === 'ops' && (port.targetPort === 'ops' || port.targetPort === service.opsPort)),
    );
    if (!exposed) problems.push(`${where} has no Service naming its ops port \`ops\` (the ServiceMonitor scrapes by that name)`);
  }

  const worker = named('StatefulSet', 'inference-worker') ?? named('Deployment', 'inference-worker');
  if (worker !== undefined) {
    const spec = worker.spec as WorkloadSpec & { serviceName?: string };
    const container = spec.template.spec.containers[0];
    const self = `${worker.kind} inference-worker`;
    // Static membership: each worker's group.instance.id is WORKER_ID, which must survive a restart.
    if (worker.kind !== 'StatefulSet') problems.push(`${self}: the workers must be a StatefulSet, so a restarted pod keeps its name and with it its static group membership (WORKER_ID)`);
    const workerId = container?.env?.find((variable) => variable.name === 'WORKER_ID') as { valueFrom?: { fieldRef?: { fieldPath?: string } } } | undefined;
    if (workerId?.valueFrom?.fieldRef?.fieldPath !== 'metadata.name') problems.push(`${self}: WORKER_ID is not the pod's name (fieldRef metadata.name), so workers share or lose their group.instance.id`);
    if (worker.kind === 'StatefulSet' && (spec.serviceName === undefined || named('Service', spec.serviceName) === undefined)) problems.push(`${self}: serviceName names no Service of the render`);
    const setting = container?.env?.find((variable) => variable.name === 'LOOMWATCH_WORKER__SHUTDOWN_TIMEOUT_MS')?.value;
    const drainMs = setting === undefined ? expect.workerShutdownTimeoutMs : Number(setting);
    const graceMs = (spec.template.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    if (graceMs < drainMs + 5000) problems.push(`${self}: terminationGracePeriodSeconds ${graceMs / 1000} s does not cover its ${drainMs / 1000} s drain and a 5 s margin`);

    const scalers = ofKind('ScaledObject').filter((o) => (o.spec as ScaledObjectSpec).scaleTargetRef.name === 'inference-worker');
    if (scalers.length === 0 && !(Number(spec.replicas ?? 1) <= framePartitions)) {
      problems.push(`${self}: ${spec.replicas ?? 1} replicas, more than the ${framePartitions} partitions of ${expect.frameTopic}`);
    }
    if (scalers.length > 0 && spec.replicas !== undefined) problems.push(`${self} sets replicas, which the ScaledObject owns: every apply would reset them`);
    for (const scaler of scalers) {
      const so = scaler.spec as ScaledObjectSpec;
      const where = `ScaledObject ${scaler.metadata.name}`;
      // KEDA takes a target without a kind for a Deployment: a StatefulSet must be named as one.
      if ((so.scaleTargetRef.kind ?? 'Deployment') !== worker.kind) problems.push(`${where} scales a ${so.scaleTargetRef.kind ?? 'Deployment'} inference-worker, but the workers are a ${worker.kind}`);
      if (!(Number(so.maxReplicaCount ?? 100) <= framePartitions)) problems.push(`${where}: maxReplicaCount ${so.maxReplicaCount ?? 100} exceeds the ${framePartitions} partitions of ${expect.frameTopic}`);
      const kafka = so.triggers.find((trigger) => trigger.type === 'kafka');
      if (kafka === undefined) {
        problems.push(`${where} has no kafka trigger`);
        continue;
      }
      const m = kafka.metadata;
      if (m['consumerGroup'] !== expect.workerGroupId || m['topic'] !== expect.frameTopic) {
        problems.push(`${where} measures ${m['consumerGroup']} on ${m['topic']}, not ${expect.workerGroupId} on ${expect.frameTopic}`);
      }
      if (m['offsetResetPolicy'] !== expect.workerOffsetReset) {
        problems.push(`${where}: offsetResetPolicy ${m['offsetResetPolicy']}, but the workers start a partition without an offset at the ${expect.workerOffsetReset}`);
      }
      if (m['bootstrapServers'] !== env?.data?.['KAFKA_BROKERS']) problems.push(`${where} reads brokers ${m['bootstrapServers']}, the services ${env?.data?.['KAFKA_BROKERS']}`);
      const perWorker = Number(scaler.metadata.annotations?.['loomwatch.io/worker-frames-per-second']);
      const latency = Number(scaler.metadata.annotations?.['loomwatch.io/target-latency-seconds']);
      const derived = Math.floor(perWorker * latency);
      if (!(derived >= 1) || m['lagThreshold'] !== String(derived)) {
        problems.push(`${where}: lagThreshold ${m['lagThreshold']} is not floor(${perWorker} frames/s per worker × ${latency} s target latency) = ${derived}`);
      }
    }
  }

  for (const monitor of ofKind('ServiceMonitor')) {
    const spec = monitor.spec as { selector?: { matchLabels?: Record<string, string> }; endpoints?: { port?: string }[] };
    if (!(spec.endpoints ?? []).some((endpoint) => endpoint.port === 'ops')) problems.push(`ServiceMonitor ${monitor.metadata.name} does not scrape the \`ops\` port`);
    for (const service of services) {
      const svc = named('Service', service.name);
      if (svc === undefined || !selects(spec.selector?.matchLabels, svc.metadata.labels)) problems.push(`ServiceMonitor ${monitor.metadata.name} does not select Service ${service.name}`);
    }
  }
  return problems;
}
