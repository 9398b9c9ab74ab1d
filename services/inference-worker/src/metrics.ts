import type { Deployment, ModelRef, Verdict } from '@loomwatch/contracts';
import type { Route } from '@loomwatch/frame-pipeline';
import { Counter, Gauge, Histogram, type Registry } from '@loomwatch/observability';

/** A version the pool loaded for a deployed version: the deployed one, or its INT8 variant. */
export interface ServedModel {
  /** The version the deployment names. */
  deployedVersion: string;
  /** What runs (its version is the one verdicts name). */
  model: ModelRef;
  precision: 'fp32' | 'int8';
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32];

/** The worker's Prometheus metrics. */
export class WorkerMetrics {
  readonly frames: Counter<'verdict' | 'version' | 'rule'>;
  readonly shadowFailures: Counter<'version' | 'code'>;
  readonly deploymentRevision: Gauge;
  readonly deadLetters: Counter<'code'>;
  readonly stageSeconds: Histogram<'stage'>;
  readonly frameToVerdictSeconds: Histogram;
  readonly inFlight: Gauge;
  readonly consumerLag: Gauge<'partition'>;
  readonly modelInfo: Gauge<'name' | 'version' | 'sha256' | 'role' | 'deployed_version' | 'precision' | 'cpu_flags'>;

  /** `cpuFlags`: the CPU flags the precision was chosen by, as seen at start. */
  constructor(
    registry: Registry,
    private readonly cpuFlags: readonly string[] = [],
  ) {
    const registers = [registry];
    this.frames = new Counter({
      name: 'loomwatch_frames_decided_total',
      help: 'Verdicts published, by verdict, model version and routing rule (production, canary, fabric, shadow)',
      labelNames: ['verdict', 'version', 'rule'],
      registers,
    });
    this.shadowFailures = new Counter({
      name: 'loomwatch_shadow_failures_total',
      help: 'Frames a shadow version failed to decide (the live verdict went out without it)',
      labelNames: ['version', 'code'],
      registers,
    });
    this.deploymentRevision = new Gauge({ name: 'loomwatch_deployment_revision', help: 'Revision of the deployment in force (0 = registry production marker or a pinned version)', registers });
    this.deadLetters = new Counter({ name: 'loomwatch_dead_letters_total', help: 'Frames dead-lettered, by reason code', labelNames: ['code'], registers });
    this.stageSeconds = new Histogram({
      name: 'loomwatch_stage_seconds',
      help: 'Time per frame in each stage (fetch, decode, infer, post, render, store, total)',
      labelNames: ['stage'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.frameToVerdictSeconds = new Histogram({
      name: 'loomwatch_frame_to_verdict_seconds',
      help: 'From capturedAt to decidedAt',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.inFlight = new Gauge({ name: 'loomwatch_frames_in_flight', help: 'Frames being fetched, decided or stored', registers });
    this.consumerLag = new Gauge({ name: 'loomwatch_consumer_lag', help: 'Frames waiting per input partition', labelNames: ['partition'], registers });
    this.modelInfo = new Gauge({
      name: 'loomwatch_model_info',
      help: 'Model versions serving (value 1), by role in the deployment: the deployed version, the version running for it (its INT8 variant or itself), its precision, and the CPU flags the choice saw',
      labelNames: ['name', 'version', 'sha256', 'role', 'deployed_version', 'precision', 'cpu_flags'],
      registers,
    });
  }

  recordDeployment(deployment: Deployment, served: readonly ServedModel[]): void {
    this.deploymentRevision.set(deployment.revision);
    this.modelInfo.reset();
    const roles = new Map<string, string[]>([[deployment.production, ['production']]]);
    const add = (version: string, role: string): void => void roles.set(version, [...(roles.get(version) ?? []), role]);
    if (deployment.canary !== undefined) add(deployment.canary.version, 'canary');
    if (deployment.shadow !== undefined) add(deployment.shadow.version, 'shadow');
    for (const version of Object.values(deployment.fabrics)) add(version, 'fabric');
    for (const { deployedVersion, model, precision } of served) {
      const role = [...new Set(roles.get(deployedVersion) ?? [])].join('+');
      const { name, version, sha256 } = model;
      this.modelInfo.set({ name, version, sha256, role, deployed_version: deployedVersion, precision, cpu_flags: this.cpuFlags.join(' ') }, 1);
    }
  }

  recordVerdict(verdict: Verdict, route: Route & { shadowed: boolean }): void {
    this.frames.inc({ verdict: verdict.verdict, version: verdict.model.version, rule: route.shadowed ? 'shadow' : route.rule });
    if (route.shadowed) return;
    for (const [stage, ms] of Object.entries(verdict.timings)) this.stageSeconds.observe({ stage: stage.replace(/Ms$/, '') }, ms / 1000);
    this.frameToVerdictSeconds.observe(Math.max(0, (Date.parse(verdict.decidedAt) - Date.parse(verdict.capturedAt)) / 1000));
  }
}
