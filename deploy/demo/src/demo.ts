/**
 * `make demo`: the real pipeline on the local Kafka and S3, every service as its own process, the
 * way it is deployed. The gateway replays AITEX frames as 2 lines × 2 cameras, two inference
 * workers decide them exactly once, alerting opens and resolves alerts, the dashboard shows it all
 * in a browser (its URL is printed first), and read_committed followers print a line per verdict
 * and per alert of this run (it first says what earlier runs left on the topics), then a closing summary. On a terminal the dashboard stays up after the summary
 * until Enter is pressed (DEMO_HOLD_DASHBOARD=false: not at all).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { z } from 'zod';
import { KafkaConfig, S3Config, STANDARD_ENV_ALIASES, collect, commandName, exitWithUsageError, loadConfig, newCommand, parseOrExit } from '@loomwatch/config';
import { Alert, FrameEvent, TOPICS, TOPIC_PROFILES, Verdict, decodeMessage, toLoomwatchError, topicSpecifications } from '@loomwatch/contracts';
import { DEFAULT_REGISTRY_ROOT, defaultModel } from '@loomwatch/model-registry';
import { applyTopics, createKafkaClient, type KafkaClient, type TopicOutcome } from '@loomwatch/kafka';
import { quantile } from '@loomwatch/observability';
import { S3BlobStore } from '@loomwatch/storage';
import { REPO_ROOT, processExited, spawnNodeProcess, stopProcess, type Infra } from '@loomwatch/testkit';
import { describeEarlierRecords, earlierRecords } from './earlier-runs.js';

const DemoConfig = z.strictObject({
  kafka: KafkaConfig.prefault({}),
  s3: S3Config.prefault({}),
  aitexDir: z.string().default(resolve(REPO_ROOT, '../shared/datasets/aitex')),
  /** @defaultValue the registry's best-validated production model (highest validation image AUROC), as the worker's */
  model: z.string().optional(),
  lines: z.int().positive().default(2),
  camerasPerLine: z.int().positive().default(2),
  framesPerCamera: z.int().positive().default(5),
  fps: z.number().nonnegative().default(0.4),
  workers: z.int().positive().default(2),
  threadsPerWorker: z.int().positive().default(1),
  /** Port of the dashboard. @defaultValue 8095 */
  dashboardPort: z.int().min(1).max(65_535).default(8095),
  /** Keep the dashboard up after the summary until Enter is pressed. @defaultValue true on a terminal */
  holdDashboard: z.boolean().default(process.stdin.isTTY && process.stdout.isTTY),
});
type DemoConfig = z.infer<typeof DemoConfig>;

const LOG_DIR = join(REPO_ROOT, '.loomwatch/demo-logs');
const FRAME_BUCKET = 'loomwatch-frames';
const ALERTING_OPS_PORT = 9466;
const DASHBOARD_OPS_PORT = 9470;

/**
 * Every declared topic on the local broker, made as `loomwatch topics apply --profile dev` makes
 * them (the services only check that theirs exist); one line of what was done. A topic that still
 * differs (an older frames.v1 with fewer partitions) is named, not changed: the demo runs on it.
 */
async function provisionTopics(kafka: KafkaClient): Promise<string> {
  const outcomes = await applyTopics(kafka.topics, topicSpecifications({ replication: TOPIC_PROFILES.dev }));
  const topics = (status: TopicOutcome['status']): string[] => outcomes.filter((outcome) => outcome.status === status).map((outcome) => outcome.topic);
  const created = topics('created');
  const drift = topics('drift');
  const parts = [
    `${created.length} created${created.length === 0 ? '' : ` (${created.join(', ')})`}`,
    `${topics('altered').length} changed`,
    `${topics('ok').length} already as declared`,
    ...(drift.length === 0 ? [] : [`${drift.join(', ')} still ${drift.length === 1 ? 'differs' : 'differ'} (loomwatch topics apply --check --profile dev says how)`]),
  ];
  return `topics (loomwatch topics apply --profile dev): ${parts.join(', ')}`;
}

/** A fresh log file for one process of this run. */
function logFile(name: string): string {
  const path = join(LOG_DIR, `${name}.log`);
  writeFileSync(path, '');
  return path;
}

/** The inference workers, configured through their environment as deployed. */
function startWorkers(config: DemoConfig, infra: Infra, model: string): ChildProcess[] {
  return Array.from({ length: config.workers }, (_, i) =>
    spawnNodeProcess({
      entry: 'services/inference-worker/dist/main.js',
      infra,
      settings: {
        WORKER_ID: `worker-${i + 1}`,
        LOOMWATCH_MODEL: model,
        // Short, so a worker that dies hands its partitions on quickly.
        LOOMWATCH_WORKER__SESSION_TIMEOUT_MS: 10_000,
        LOOMWATCH_INFERENCE__INTRA_OP_NUM_THREADS: config.threadsPerWorker,
        LOOMWATCH_OPS__PORT: 0,
        LOOMWATCH_LOG__LEVEL: 'info',
      },
      logFile: logFile(`worker-${i + 1}`),
    }),
  );
}

/** The alerting service with the demo's rules; resolves once it answers /readyz. */
async function startAlerting(infra: Infra): Promise<ChildProcess> {
  const child = spawnNodeProcess({
    entry: 'services/alerting/dist/main.js',
    args: ['--config', join(REPO_ROOT, 'deploy/local/demo-alerting.yaml')],
    infra,
    settings: { LOOMWATCH_OPS__PORT: ALERTING_OPS_PORT },
    logFile: logFile('alerting'),
  });
  await untilReady(child, 'alerting', `http://127.0.0.1:${ALERTING_OPS_PORT}/readyz`);
  return child;
}

/** Polls `url` until it answers 200; the process's log is named when it exits or takes too long. */
async function untilReady(child: ChildProcess, name: string, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the ${name} exited at start; see .loomwatch/demo-logs/${name}.log`);
    const ready = await fetch(url).then((r) => r.ok, () => false);
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`the ${name} did not become ready in ${timeoutMs / 1000} s; see .loomwatch/demo-logs/${name}.log`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * The local development OpenID provider (deploy/local/infra.sh starts it and writes its issuer and
 * client into $STATE/env, which `make demo` sources) and its demo users.
 */
const OIDC = {
  issuer: process.env['LOOMWATCH_OIDC_ISSUER'] ?? 'http://127.0.0.1:19080',
  clientId: process.env['LOOMWATCH_OIDC_CLIENT_ID'] ?? 'loomwatch-dashboard',
  clientSecret: process.env['LOOMWATCH_OIDC_CLIENT_SECRET'] ?? 'loomwatch-dashboard-dev-secret',
  users: 'viola / viola-demo (viewer), otto / otto-demo (operator), erin / erin-demo (engineer)',
};

/** The dashboard on `port`, signing in through the local provider; resolves once it follows every topic (/readyz). */
async function startDashboard(config: DemoConfig, infra: Infra): Promise<ChildProcess> {
  const discovery = await fetch(`${OIDC.issuer}/.well-known/openid-configuration`).then((r) => r.ok, () => false);
  if (!discovery) throw new Error(`no OpenID provider at ${OIDC.issuer}: start it with \`bash deploy/local/infra.sh start\` (make demo does)`);
  const child = spawnNodeProcess({
    entry: 'services/dashboard/dist/main.js',
    infra,
    settings: {
      LOOMWATCH_DASHBOARD__PORT: config.dashboardPort,
      LOOMWATCH_OPS__PORT: DASHBOARD_OPS_PORT,
      LOOMWATCH_LOG__LEVEL: 'info',
      LOOMWATCH_AUTH__MODE: 'oidc',
      LOOMWATCH_OIDC_ISSUER: OIDC.issuer,
      LOOMWATCH_OIDC_CLIENT_ID: OIDC.clientId,
      LOOMWATCH_OIDC_CLIENT_SECRET: OIDC.clientSecret,
      LOOMWATCH_AUTH__OIDC__REDIRECT_URL: `http://127.0.0.1:${config.dashboardPort}/auth/callback`,
      // A new one per run: the demo's sessions end with it.
      LOOMWATCH_SESSION_SECRET: randomBytes(32).toString('base64url'),
    },
    logFile: logFile('dashboard'),
  });
  await untilReady(child, 'dashboard', `http://127.0.0.1:${DASHBOARD_OPS_PORT}/readyz`);
  return child;
}

/** The gateway in simulate mode: `framesPerCamera` frames per camera, sequence numbers from `firstSeq`; exits by itself when done. */
function startGateway(config: DemoConfig, infra: Infra, firstSeq: number): ChildProcess {
  return spawnNodeProcess({
    entry: 'services/camera-gateway/dist/main.js',
    args: ['simulate'],
    infra,
    settings: {
      AITEX_DIR: config.aitexDir,
      LOOMWATCH_GATEWAY__BUCKET: FRAME_BUCKET,
      LOOMWATCH_GATEWAY__SOURCE: '/loomwatch/demo',
      LOOMWATCH_SIMULATOR__LINES: config.lines,
      LOOMWATCH_SIMULATOR__CAMERAS_PER_LINE: config.camerasPerLine,
      LOOMWATCH_SIMULATOR__FRAMES_PER_CAMERA: config.framesPerCamera,
      LOOMWATCH_SIMULATOR__FPS: config.fps,
      LOOMWATCH_SIMULATOR__FIRST_SEQ: firstSeq,
      LOOMWATCH_OPS__PORT: 0,
      LOOMWATCH_LOG__LEVEL: 'info',
    },
    logFile: logFile('gateway'),
  });
}

function printVerdict(verdict: Verdict): void {
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
}

function printAlert(alert: Alert): void {
  const where = `${alert.lineId}${alert.cameraId === undefined ? '' : `/${alert.cameraId}`}`;
  console.log(`ALERT ${alert.status.toUpperCase().padEnd(8)} ${alert.severity.padEnd(8)} ${alert.rule.padEnd(16)} ${where.padEnd(14)} ${alert.message}`);
}

/** The demo's own settings with their defaults, for its --help. */
function settingsHelp(): string[] {
  const computed: Record<string, string> = { model: "the registry's best-validated production model", holdDashboard: 'true on a terminal' };
  const defaults: Record<string, unknown> = DemoConfig.parse({ holdDashboard: false });
  return Object.keys(DemoConfig.shape)
    .filter((key) => key !== 'kafka' && key !== 's3')
    .map((key) => `  ${key.padEnd(18)}${computed[key] ?? JSON.stringify(defaults[key])}`);
}

/** `--set key=value`s from the command line (exits after --help or a mistake). */
function commandLine(): string[] {
  const command = newCommand({
    name: 'pnpm --silent demo',
    summary: 'The real pipeline on the local Kafka and S3 (make demo starts and stops them): a simulated gateway, two workers, alerting and the dashboard, each its own process; a line per verdict and alert, then a summary.',
    examples: ['make demo', 'loomwatch demo --set framesPerCamera=20 --set fps=1'],
    notes: ['settings (--set key=value, or DEMO_<KEY> in the environment, e.g. DEMO_FRAMES_PER_CAMERA=20) and their defaults:', ...settingsHelp(), '', 'Exit codes: 0 every frame decided once, 1 a failure or a count off, 2 a setting it cannot take.'],
  }).option('--set <key=value>', 'one setting (repeatable)', collect);
  parseOrExit(command);
  return command.opts<{ set?: string[] }>().set ?? [];
}

async function main(): Promise<void> {
  const config = loadConfig(DemoConfig, {
    envAliases: { ...STANDARD_ENV_ALIASES, AITEX_DIR: 'aitexDir', LOOMWATCH_MODEL: 'model' },
    envPrefix: 'DEMO_',
    overrides: commandLine(),
  });
  const model = config.model ?? (await defaultModel(DEFAULT_REGISTRY_ROOT)).name;
  const kafka = createKafkaClient(config.kafka);
  const store = new S3BlobStore(config.s3);
  const runStart = Date.now();
  const topicsDone = await provisionTopics(kafka);
  const earlier = describeEarlierRecords(await earlierRecords(kafka.reader));
  await store.ensureBucket(FRAME_BUCKET);
  await store.ensureBucket('loomwatch-results');
  store.close();

  const total = config.lines * config.camerasPerLine * config.framesPerCamera;
  console.log(`Loomwatch demo — ${config.lines} lines × ${config.camerasPerLine} cameras × ${config.framesPerCamera} frames = ${total} AITEX frames at ${config.fps} fps per camera`);
  console.log(`model ${model}; ${config.workers} workers × ${config.threadsPerWorker} thread(s); worker logs in .loomwatch/demo-logs/`);
  console.log(topicsDone);
  console.log(earlier);

  const infra: Infra = { source: 'env', kafkaBrokers: config.kafka.brokers, s3: config.s3 };
  mkdirSync(LOG_DIR, { recursive: true });
  const dashboard = await startDashboard(config, infra);
  console.log(`dashboard: http://127.0.0.1:${config.dashboardPort}/ (log in .loomwatch/demo-logs/dashboard.log)`);
  console.log(`  sign in at the local provider (${OIDC.issuer}) as ${OIDC.users}`);
  const alerting = await startAlerting(infra);
  const workers = startWorkers(config, infra, model);

  // This run's alerts as they open and resolve (rules: deploy/local/demo-alerting.yaml); alerting
  // may also resolve one an earlier run left open, which is not this run's.
  const alerts: Alert[] = [];
  const alertFollower = await kafka.reader.follow(
    TOPICS.alerts,
    (record) => {
      const alert = decodeMessage(Alert, record.value);
      if (Date.parse(alert.openedAt) < runStart) return;
      alerts.push(alert);
      printAlert(alert);
    },
    { from: 'end' },
  );

  // Follow before publishing; only this run's frames (sequence numbers from its start time on) are counted.
  const started = Date.now();
  const published = new Set<string>();
  const frameFollower = await kafka.reader.follow(
    TOPICS.frames,
    (record) => {
      const frame = decodeMessage(FrameEvent, record.value);
      if (frame.seq >= started) published.add(frame.frameId);
    },
    { from: 'end' },
  );
  const verdicts: Verdict[] = [];
  let resolveAll: () => void = () => undefined;
  const allDecided = new Promise<void>((done) => (resolveAll = done));
  const verdictFollower = await kafka.reader.follow(
    TOPICS.verdicts,
    (record) => {
      const verdict = decodeMessage(Verdict, record.value);
      if (verdict.seq < started) return;
      verdicts.push(verdict);
      printVerdict(verdict);
      if (verdicts.length >= total) resolveAll();
    },
    { from: 'end' },
  );

  const gateway = startGateway(config, infra, started);
  await processExited(gateway);
  if (gateway.exitCode !== 0) throw new Error(`the gateway failed (exit ${gateway.exitCode}); see .loomwatch/demo-logs/gateway.log`);

  const timeout = setTimeout(() => {
    console.error(`only ${verdicts.length} of ${total} verdicts after 5 minutes; see .loomwatch/demo-logs/`);
    resolveAll();
  }, 300_000);
  await allDecided;
  clearTimeout(timeout);
  const seconds = (Date.now() - started) / 1000;
  await verdictFollower.stop();
  await frameFollower.stop();
  await Promise.all(workers.map(stopProcess));
  // Alerts that resolve on quiet time need a few seconds after the last verdict.
  await new Promise((resolve) => setTimeout(resolve, 6000));
  await stopProcess(alerting);
  await alertFollower.stop();

  const latencies = verdicts.map((v) => Date.parse(v.decidedAt) - Date.parse(v.capturedAt)).sort((a, b) => a - b);
  const defects = verdicts.filter((v) => v.verdict === 'defect').length;
  const unique = new Set(verdicts.map((v) => v.frameId)).size;
  console.log('');
  console.log(`frames published ${published.size}, verdicts ${verdicts.length} (${unique} distinct frames), defects ${defects}`);
  console.log(`throughput ${(verdicts.length / seconds).toFixed(2)} frames/s over ${seconds.toFixed(1)} s`);
  const opened = alerts.filter((a) => a.status === 'open').length;
  console.log(`alerts opened ${opened}, resolved ${alerts.length - opened}`);
  console.log(`frame-to-verdict latency p50 ${quantile(latencies, 0.5).toFixed(0)} ms, p95 ${quantile(latencies, 0.95).toFixed(0)} ms, p99 ${quantile(latencies, 0.99).toFixed(0)} ms`);
  if (unique !== published.size || verdicts.length !== published.size) process.exitCode = 1;

  if (config.holdDashboard) {
    // Enter rather than Ctrl-C: an interrupt would also stop make before it stops the local servers.
    const prompt = createInterface({ input: process.stdin, output: process.stdout });
    await prompt.question(`\nThe dashboard stays up at http://127.0.0.1:${config.dashboardPort}/ (sign in as ${OIDC.users}) — press Enter to end the demo. `);
    prompt.close();
  }
  await stopProcess(dashboard);
}

main().catch((err: unknown) => {
  const error = toLoomwatchError(err);
  const name = commandName('pnpm --silent demo');
  // A setting it cannot take is bad usage (2); anything else a failure of the run (1).
  if (error.code === 'CONFIG_INVALID') exitWithUsageError(name, error.message);
  console.error(`${name}: ${error.message}`);
  process.exit(1);
});
