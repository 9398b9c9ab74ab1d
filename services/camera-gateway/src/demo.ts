/**
 * `make demo`: the real pipeline on the local Kafka and S3. The gateway replays AITEX frames as
 * 2 lines × 2 cameras, two inference workers decide them exactly once, and a read_committed
 * subscriber prints a line per verdict and a closing summary.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { KafkaConfig, S3Config, STANDARD_ENV_ALIASES, loadConfig } from '@loomwatch/config';
import { Alert, TOPICS, Verdict, decodeMessage } from '@loomwatch/contracts';
import { createKafka, ensureTopics } from '@loomwatch/kafka';
import { DEFAULT_REGISTRY_ROOT, defaultModel } from '@loomwatch/inference';
import { S3BlobStore } from '@loomwatch/storage';
import { infraEnv, spawnWorkerProcess, stopProcess, type Infra } from '@loomwatch/testkit';
import { FramePublisher } from './frame-publisher.js';
import { listImageFiles } from './image-files.js';
import { runSimulator } from './simulator.js';

const REPO = resolve(import.meta.dirname, '../../..');

const DemoConfig = z.object({
  kafka: KafkaConfig.prefault({}),
  s3: S3Config.prefault({}),
  aitexDir: z.string().default(resolve(REPO, '../shared/datasets/aitex')),
  /** @defaultValue the registry's best-validated production model (highest validation image AUROC), as the worker's */
  model: z.string().optional(),
  lines: z.int().positive().default(2),
  camerasPerLine: z.int().positive().default(2),
  framesPerCamera: z.int().positive().default(5),
  fps: z.number().nonnegative().default(0.4),
  workers: z.int().positive().default(2),
  threadsPerWorker: z.int().positive().default(1),
});

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

function startWorkers(count: number, infra: Infra, model: string, threads: number, logDir: string): ChildProcess[] {
  mkdirSync(logDir, { recursive: true });
  return Array.from({ length: count }, (_, i) =>
    spawnWorkerProcess({ infra, id: `worker-${i + 1}`, model, threads, logLevel: 'info', logFile: join(logDir, `worker-${i + 1}.log`) }),
  );
}

const ALERTING_OPS_PORT = 9466;

/** The alerting service with the demo's rules; resolves once it answers /readyz. */
async function startAlerting(infra: Infra, logDir: string): Promise<ChildProcess> {
  const log = openSync(join(logDir, 'alerting.log'), 'w');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO, 'services/alerting/src/main.ts'), '--config', join(REPO, 'deploy/local/demo-alerting.yaml')],
    { cwd: REPO, env: { ...process.env, ...infraEnv(infra), LOOMWATCH_OPS__PORT: String(ALERTING_OPS_PORT) }, stdio: ['ignore', log, log] },
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error('the alerting service exited at start; see .loomwatch/demo-logs/alerting.log');
    const ready = await fetch(`http://127.0.0.1:${ALERTING_OPS_PORT}/readyz`).then((r) => r.ok, () => false);
    if (ready) return child;
    if (Date.now() > deadline) throw new Error('the alerting service did not become ready in 60 s; see .loomwatch/demo-logs/alerting.log');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function main(): Promise<void> {
  const config = loadConfig(DemoConfig, {
    envAliases: { ...STANDARD_ENV_ALIASES, AITEX_DIR: 'aitexDir', LOOMWATCH_MODEL: 'model' },
    envPrefix: 'DEMO_',
    overrides: process.argv.slice(2),
  });
  const model = config.model ?? (await defaultModel(DEFAULT_REGISTRY_ROOT)).name;
  const kafka = createKafka(config.kafka);
  const store = new S3BlobStore(config.s3);
  const frameBucket = 'loomwatch-frames';
  await ensureTopics(kafka, [
    { topic: TOPICS.frames, numPartitions: 4 },
    { topic: TOPICS.verdicts, numPartitions: 4 },
    { topic: TOPICS.deadLetters, numPartitions: 1 },
    { topic: TOPICS.alerts, numPartitions: 1 },
  ]);
  await store.ensureBucket(frameBucket);
  await store.ensureBucket('loomwatch-results');

  const files = await listImageFiles(config.aitexDir);
  const total = config.lines * config.camerasPerLine * config.framesPerCamera;
  console.log(`Loomwatch demo — ${config.lines} lines × ${config.camerasPerLine} cameras × ${config.framesPerCamera} frames = ${total} AITEX frames at ${config.fps} fps per camera`);
  console.log(`model ${model}; ${config.workers} workers × ${config.threadsPerWorker} thread(s); worker logs in .loomwatch/demo-logs/`);

  const logDir = join(REPO, '.loomwatch/demo-logs');
  const infra: Infra = { source: 'env', kafkaBrokers: config.kafka.brokers, s3: config.s3 };
  mkdirSync(logDir, { recursive: true });
  const alerting = await startAlerting(infra, logDir);
  const workers = startWorkers(config.workers, infra, model, config.threadsPerWorker, logDir);

  // Alerts as they open and resolve (rules: deploy/local/demo-alerting.yaml).
  const alerts: Alert[] = [];
  const alertPrinter = kafka.consumer({ groupId: `demo-alerts-${Date.now()}`, readUncommitted: false });
  await alertPrinter.connect();
  await alertPrinter.subscribe({ topic: TOPICS.alerts, fromBeginning: false });
  const alertsJoined = new Promise<void>((done) => {
    const off = alertPrinter.on(alertPrinter.events.GROUP_JOIN, () => {
      off();
      done();
    });
  });
  await alertPrinter.run({
    eachMessage: ({ message }) => {
      const alert = decodeMessage(Alert, message.value);
      alerts.push(alert);
      const where = `${alert.lineId}${alert.cameraId === undefined ? '' : `/${alert.cameraId}`}`;
      console.log(`ALERT ${alert.status.toUpperCase().padEnd(8)} ${alert.severity.padEnd(8)} ${alert.rule.padEnd(16)} ${where.padEnd(14)} ${alert.message}`);
      return Promise.resolve();
    },
  });
  await alertsJoined;

  // Subscribe before publishing; only this run's frames are counted.
  const started = Date.now();
  const published = new Set<string>();
  const verdicts: Verdict[] = [];
  let resolveAll: () => void = () => undefined;
  const allDecided = new Promise<void>((done) => (resolveAll = done));
  const consumer = kafka.consumer({ groupId: `demo-printer-${Date.now()}`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPICS.verdicts, fromBeginning: false });
  // Publish only once the printer has its partitions, so it sees every verdict of the run.
  const joined = new Promise<void>((done) => {
    const off = consumer.on(consumer.events.GROUP_JOIN, () => {
      off();
      done();
    });
  });
  await consumer.run({
    eachMessage: ({ message }) => {
      const verdict = decodeMessage(Verdict, message.value);
      // Frames of this run have sequence numbers from its start time on.
      if (verdict.seq < started) return Promise.resolve();
      verdicts.push(verdict);
      const latency = Date.parse(verdict.decidedAt) - Date.parse(verdict.capturedAt);
      console.log(
        [
          verdict.lineId.padEnd(7),
          verdict.cameraId.padEnd(6),
          verdict.frameId.padEnd(40),
          (verdict.verdict === 'defect' ? 'DEFECT' : 'ok').padEnd(7),
          `score ${verdict.score.toFixed(3)} (${verdict.normalizedScore.toFixed(2)})`,
          `threshold ${verdict.threshold.toFixed(3)} ${verdict.calibratedFabric === undefined ? 'pooled   ' : `fabric ${verdict.calibratedFabric.padEnd(2)}`}`,
          `${String(latency).padStart(6)} ms`,
          `${verdict.workerId}`,
          `s3://${verdict.anomalyMap.bucket}/${verdict.anomalyMap.key}`,
        ].join('  '),
      );
      if (verdicts.length >= total) resolveAll();
      return Promise.resolve();
    },
  });
  await joined;

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const publisher = new FramePublisher({ store, producer, bucket: frameBucket, source: '/loomwatch/demo' });
  await runSimulator(publisher, {
    files,
    lines: config.lines,
    camerasPerLine: config.camerasPerLine,
    framesPerCamera: config.framesPerCamera,
    fps: config.fps,
    firstSeq: started,
    onPublished: (event) => published.add(event.frameId),
  });
  await producer.disconnect();

  const timeout = setTimeout(() => {
    console.error(`only ${verdicts.length} of ${total} verdicts after 5 minutes; see .loomwatch/demo-logs/`);
    resolveAll();
  }, 300_000);
  await allDecided;
  clearTimeout(timeout);
  const seconds = (Date.now() - started) / 1000;
  await consumer.disconnect();
  await Promise.all(workers.map(stopProcess));
  // Alerts that resolve on quiet time need a few seconds after the last verdict.
  await new Promise((resolve) => setTimeout(resolve, 6000));
  await stopProcess(alerting);
  await alertPrinter.disconnect();
  store.close();

  const latencies = verdicts.map((v) => Date.parse(v.decidedAt) - Date.parse(v.capturedAt)).sort((a, b) => a - b);
  const defects = verdicts.filter((v) => v.verdict === 'defect').length;
  const unique = new Set(verdicts.map((v) => v.frameId)).size;
  console.log('');
  console.log(`frames published ${published.size}, verdicts ${verdicts.length} (${unique} distinct frames), defects ${defects}`);
  console.log(`throughput ${(verdicts.length / seconds).toFixed(2)} frames/s over ${seconds.toFixed(1)} s`);
  const opened = alerts.filter((a) => a.status === 'open').length;
  console.log(`alerts opened ${opened}, resolved ${alerts.length - opened}`);
  console.log(`frame-to-verdict latency p50 ${percentile(latencies, 50)} ms, p95 ${percentile(latencies, 95)} ms, p99 ${percentile(latencies, 99)} ms`);
  if (unique !== published.size || verdicts.length !== published.size) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
