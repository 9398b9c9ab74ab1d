/**
 * The loop's services, each its own process on its compiled entry as deployed (testkit's
 * spawnNodeProcess): the gateway in `http` mode with a token per camera, the inference workers,
 * the dashboard signing in through the OpenID provider, and the retrainer with its false-alarm
 * policy. Every one gets this run's topics and free ports; `stopAll` stops them in reverse order.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { LoomwatchError } from '@loomwatch/contracts';
import { builtEntry, infraEnv, spawnNodeProcess, stopProcess, type Infra } from '@loomwatch/testkit';

/** The topics of one run: its own names, so nothing of another run (or of `make demo`) is read. */
export interface LoopTopics {
  frames: string;
  verdicts: string;
  shadowVerdicts: string;
  deadLetters: string;
  control: string;
  feedback: string;
  alerts: string;
  drift: string;
}

export function loopTopics(run: string): LoopTopics {
  const names = ['frames', 'verdicts', 'shadowVerdicts', 'deadLetters', 'control', 'feedback', 'alerts', 'drift'] as const;
  return Object.fromEntries(names.map((name) => [name, `${run}.${name}`])) as unknown as LoopTopics;
}

/** A port free now (the service is told it before it listens). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A started service: its process, its log and where it answers `/readyz`. */
export interface Service {
  name: string;
  child: ChildProcess;
  log: string;
  readyUrl: string;
}

/** Polls the service's `/readyz` until 200; its log is named when it exits or takes too long. */
export async function untilReady(service: Service, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (service.child.exitCode !== null || service.child.signalCode !== null) {
      throw new LoomwatchError('INTERNAL', `the ${service.name} exited at start (code ${service.child.exitCode ?? service.child.signalCode}); see ${service.log}`);
    }
    if (await fetch(service.readyUrl).then((r) => r.ok, () => false)) return;
    if (Date.now() > deadline) throw new LoomwatchError('INTERNAL', `the ${service.name} was not ready in ${Math.round(timeoutMs / 1000)} s; see ${service.log}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

export interface ServiceContext {
  run: string;
  infra: Infra;
  topics: LoopTopics;
  logDir: string;
  registryRoot: string;
  frameBucket: string;
  resultBucket: string;
}

/** A camera's credential as `gateway token` mints it: the token, and the file entry with its digest. */
export function mintToken(ctx: ServiceContext, lineId: string, cameraId: string): { token: string; entry: unknown } {
  const result = spawnSync(process.execPath, [builtEntry('services/camera-gateway/dist/main.js'), 'token', '--line', lineId, '--camera', cameraId], { encoding: 'utf8', env: { ...process.env, ...infraEnv(ctx.infra) } });
  const [token, entry] = result.stdout.split('\n');
  if (result.status !== 0 || token === undefined || entry === undefined) throw new LoomwatchError('INTERNAL', `gateway token --line ${lineId} --camera ${cameraId} failed: ${result.stderr.trim()}`);
  return { token, entry: JSON.parse(entry) };
}

/** The gateway's `http` mode with one credential per camera; resolves with its URL once ready. */
export async function startGateway(ctx: ServiceContext, credentialsFile: string, entries: readonly unknown[]): Promise<Service & { url: string }> {
  writeFileSync(credentialsFile, `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o600 });
  const [port, ops] = [await freePort(), await freePort()];
  const log = join(ctx.logDir, 'gateway.log');
  const child = spawnNodeProcess({
    entry: 'services/camera-gateway/dist/main.js',
    args: ['http'],
    infra: ctx.infra,
    settings: {
      LOOMWATCH_GATEWAY__TOPIC: ctx.topics.frames,
      LOOMWATCH_GATEWAY__BUCKET: ctx.frameBucket,
      LOOMWATCH_GATEWAY__SOURCE: `/loomwatch/loop/${ctx.run}`,
      LOOMWATCH_HTTP__PORT: port,
      LOOMWATCH_CAMERA_CREDENTIALS_FILE: credentialsFile,
      LOOMWATCH_OPS__PORT: ops,
      LOOMWATCH_LOG__LEVEL: 'warn',
    },
    logFile: log,
  });
  const service = { name: 'gateway', child, log, readyUrl: `http://127.0.0.1:${ops}/readyz`, url: `http://127.0.0.1:${port}` };
  await untilReady(service, 60_000);
  return service;
}

/** An inference worker following `model`'s deployment on the run's control topic, from `registryRoot`. */
export async function startWorker(ctx: ServiceContext, index: number, model: string): Promise<Service> {
  const ops = await freePort();
  const log = join(ctx.logDir, `worker-${index}.log`);
  const child = spawnNodeProcess({
    entry: 'services/inference-worker/dist/main.js',
    infra: ctx.infra,
    settings: {
      WORKER_ID: `${ctx.run}-worker-${index}`,
      LOOMWATCH_MODEL: model,
      LOOMWATCH_INFERENCE__REGISTRY_ROOT: ctx.registryRoot,
      LOOMWATCH_INFERENCE__INTRA_OP_NUM_THREADS: 1,
      LOOMWATCH_WORKER__GROUP_ID: `${ctx.run}.workers`,
      LOOMWATCH_WORKER__INPUT_TOPIC: ctx.topics.frames,
      LOOMWATCH_WORKER__VERDICT_TOPIC: ctx.topics.verdicts,
      LOOMWATCH_WORKER__SHADOW_VERDICT_TOPIC: ctx.topics.shadowVerdicts,
      LOOMWATCH_WORKER__DEAD_LETTER_TOPIC: ctx.topics.deadLetters,
      LOOMWATCH_WORKER__CONTROL_TOPIC: ctx.topics.control,
      LOOMWATCH_WORKER__ALLOWED_BUCKETS: ctx.frameBucket,
      LOOMWATCH_WORKER__OUTPUT_BUCKET: ctx.resultBucket,
      LOOMWATCH_WORKER__SESSION_TIMEOUT_MS: 10_000,
      LOOMWATCH_OPS__PORT: ops,
      LOOMWATCH_LOG__LEVEL: 'info',
    },
    logFile: log,
  });
  return { name: `worker ${index}`, child, log, readyUrl: `http://127.0.0.1:${ops}/readyz` };
}

/** The dashboard on this run's topics, signing in through `infra.oidc`; resolves with its URL once ready. */
export async function startDashboard(ctx: ServiceContext): Promise<Service & { url: string }> {
  const oidc = ctx.infra.oidc;
  if (oidc === undefined) throw new LoomwatchError('CONFIG_INVALID', 'no OpenID provider in the infra (deploy/local/infra.sh start writes LOOMWATCH_OIDC_ISSUER to its env file): the reviews are posted by a signed-in operator');
  const [port, ops] = [await freePort(), await freePort()];
  const log = join(ctx.logDir, 'dashboard.log');
  const child = spawnNodeProcess({
    entry: 'services/dashboard/dist/main.js',
    infra: ctx.infra,
    settings: {
      LOOMWATCH_DASHBOARD__PORT: port,
      LOOMWATCH_OPS__PORT: ops,
      LOOMWATCH_LOG__LEVEL: 'warn',
      LOOMWATCH_AUTH__MODE: 'oidc',
      LOOMWATCH_OIDC_ISSUER: oidc.issuer,
      LOOMWATCH_OIDC_CLIENT_ID: oidc.clientId,
      LOOMWATCH_OIDC_CLIENT_SECRET: oidc.clientSecret,
      LOOMWATCH_AUTH__OIDC__REDIRECT_URL: `http://127.0.0.1:${port}/auth/callback`,
      LOOMWATCH_SESSION_SECRET: randomBytes(32).toString('base64url'),
      LOOMWATCH_TOPICS__VERDICTS: ctx.topics.verdicts,
      LOOMWATCH_TOPICS__ALERTS: ctx.topics.alerts,
      LOOMWATCH_TOPICS__DEAD_LETTERS: ctx.topics.deadLetters,
      LOOMWATCH_TOPICS__CONTROL: ctx.topics.control,
      LOOMWATCH_TOPICS__DRIFT: ctx.topics.drift,
      LOOMWATCH_TOPICS__FRAMES: ctx.topics.frames,
      LOOMWATCH_TOPICS__FEEDBACK: ctx.topics.feedback,
      LOOMWATCH_LAG__GROUP_ID: `${ctx.run}.workers`,
    },
    logFile: log,
  });
  const service = { name: 'dashboard', child, log, readyUrl: `http://127.0.0.1:${ops}/readyz`, url: `http://127.0.0.1:${port}/` };
  await untilReady(service, 60_000);
  return service;
}

export interface RetrainerSettings {
  model: string;
  falseAlarms: number;
  workDir: string;
  datasetBucket: string;
  /** `models/lw refit` and the arguments before the retrainer's (the parent's registry). */
  refitCommand: string[];
}

/** The retrainer with its policy on this run's topics, writing candidates into the scratch registry. */
export async function startRetrainer(ctx: ServiceContext, settings: RetrainerSettings): Promise<Service> {
  const ops = await freePort();
  const configFile = join(settings.workDir, 'retrainer.json');
  // JSON is YAML: the retrainer's --config takes it; the command lines are lists, which the environment cannot carry.
  const config = {
    retrain: {
      controlTopic: ctx.topics.control,
      feedbackTopic: ctx.topics.feedback,
      // The replay after shadow decides the run's reviewed frames again and compares with its verdicts.
      framesTopic: ctx.topics.frames,
      verdictsTopic: ctx.topics.verdicts,
      alertsTopic: ctx.topics.alerts,
      driftTopic: ctx.topics.drift,
      registryRoot: ctx.registryRoot,
      workDir: settings.workDir,
      datasetBucket: settings.datasetBucket,
      datasetCommand: [process.execPath, builtEntry('services/dataset/dist/cli.js')],
      refitCommand: settings.refitCommand,
      // The retrainer hands its registryRoot on to `replay run` (the candidate is in the scratch registry).
      replayCommand: [process.execPath, builtEntry('services/replay/dist/cli.js')],
    },
    policy: { model: settings.model, falseAlarms: settings.falseAlarms },
    ops: { port: ops },
  };
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  const log = join(ctx.logDir, 'retrainer.log');
  const child = spawnNodeProcess({
    entry: 'services/retrainer/dist/cli.js',
    args: ['run', '--config', configFile],
    infra: ctx.infra,
    settings: { LOOMWATCH_LOG__LEVEL: 'info' },
    logFile: log,
  });
  const service = { name: 'retrainer', child, log, readyUrl: `http://127.0.0.1:${ops}/readyz` };
  await untilReady(service, 60_000);
  return service;
}

/** Stops the services, the last started first. */
export async function stopAll(services: readonly Service[]): Promise<void> {
  for (const service of [...services].reverse()) await stopProcess(service.child);
}
