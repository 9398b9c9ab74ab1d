import type { Verdict } from '@loomwatch/contracts';
import { Counter, Gauge, Histogram, type Registry } from '@loomwatch/observability';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32];

/** The worker's Prometheus metrics. */
export class WorkerMetrics {
  readonly frames: Counter<'verdict'>;
  readonly deadLetters: Counter<'code'>;
  readonly stageSeconds: Histogram<'stage'>;
  readonly frameToVerdictSeconds: Histogram;
  readonly inFlight: Gauge;
  readonly consumerLag: Gauge<'partition'>;
  readonly modelInfo: Gauge<'name' | 'version' | 'sha256'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.frames = new Counter({ name: 'loomwatch_frames_decided_total', help: 'Frames decided, by verdict', labelNames: ['verdict'], registers });
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
    this.modelInfo = new Gauge({ name: 'loomwatch_model_info', help: 'The model version serving (value 1)', labelNames: ['name', 'version', 'sha256'], registers });
  }

  recordVerdict(verdict: Verdict): void {
    this.frames.inc({ verdict: verdict.verdict });
    for (const [stage, ms] of Object.entries(verdict.timings)) this.stageSeconds.observe({ stage: stage.replace(/Ms$/, '') }, ms / 1000);
    this.frameToVerdictSeconds.observe(Math.max(0, (Date.parse(verdict.decidedAt) - Date.parse(verdict.capturedAt)) / 1000));
  }
}
