/**
 * `bench:churn`: what workers coming and going cost the frames, as latency. On its own local Kafka
 * and S3 (deploy/local/infra.sh with its own state and ports, apart from the tests' and the soak's),
 * it measures the workers' capacity from a backlog, then holds a steady load (80 % of it) while
 * these events run in turn, each given time to settle: a worker SIGKILLed and restarted, a worker
 * added, a worker removed gracefully, a rolling restart of every worker. Per event: the frames'
 * wait from capture to verdict (p50, p99, max) for the frames captured in the event's window, and
 * how long the consumer lag took to come back to its steady level. Run with dynamic members (every
 * join and leave a rebalance of the whole group) and static ones (a restarted worker rejoins as the
 * same member); exactly-once is counted as the soak counts it (kcat, read_committed). Writes
 * churn.json, churn.md and churn.png under --out.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import sharp from 'sharp';
import { commandName, exitWithUsageError, newCommand, parseOrExit } from '@loomwatch/config';
import { DeadLetter, Verdict } from '@loomwatch/contracts';
import { sleep } from '@loomwatch/concurrency';
import { createKafkaClient, type BrokerOffsets, type KafkaClient, type Publisher } from '@loomwatch/kafka';
import { S3BlobStore } from '@loomwatch/storage';
import { REPO_ROOT, readCommittedWithKcat, startInfra, type Infra } from '@loomwatch/testkit';
import { capacityFromBacklog, eventWindows, lagSettledMs, steadyLag, waitsIn, type ChurnEvent, type Decision, type LagSample, type WaitStats } from './churn-stats.js';
import { countOutcomes, overTime, passed, type SoakCounts } from './counts.js';
import { FRAME_BUCKET, balancedCameras, frameEvent, frameMessage, loadFrameFiles, type FrameFile } from './frames.js';
import { renderSoakPlot } from './plot.js';
import { WorkerPool } from './workers.js';

const NAME = commandName('pnpm bench:churn');

const command = newCommand({
  name: 'pnpm bench:churn',
  summary:
    'Frame latency while workers come and go: steady load at a fraction of the measured capacity while a worker is SIGKILLed and restarted, one is added, one is removed gracefully and every worker is restarted in turn; per event the wait p50/p99/max and the time until the lag is back to steady, for dynamic and static group members. Starts its own local Kafka and S3.',
  examples: ['pnpm bench:churn', 'pnpm bench:churn --membership static --settle 30'],
  notes: ['Exit codes: 0 every frame decided exactly once in every run, 1 a count is off (churn.json says which), 2 bad usage.'],
})
  .option('--membership <kind>', 'dynamic, static, or both (dynamic first, then static: the before/after table)', 'both')
  .option('--workers <n>', 'inference worker processes at steady state', '2')
  .option('--load <fraction>', 'steady load, as a fraction of the measured capacity', '0.8')
  .option('--rate <r>', 'frames per second of the steady load, instead of measuring the capacity (0 = measure)', '0')
  .option('--backlog <n>', 'frames per worker published at once to measure the capacity', '25')
  .option('--warm <s>', 'seconds of steady load before the first event (its lag is the steady level)', '20')
  .option('--settle <s>', 'seconds each event is given at least before the next', '40')
  .option('--max-settle <s>', 'seconds each event is given at most: after --settle, the next waits until the lag is back at its steady level', '90')
  .option('--session-timeout <ms>', "the workers' worker.sessionTimeoutMs", '10000')
  .option('--partitions <n>', 'partitions of the frames topic', '6')
  .option('--cameras <n>', 'cameras publishing per partition of the frames topic (their keys chosen to spread the frames evenly)', '2')
  .option('--threads <n>', 'onnxruntime threads per worker', '1')
  .option('--model <name@version>', 'model version the workers serve (the benchmark tests the pipeline, not the model)', 'draem-random@0.0.1')
  .option('--state <dir>', "the benchmark's own local Kafka and S3 state (deploy/local/infra.sh LOOMWATCH_STATE)", '.loomwatch/churn-state')
  .option('--port-base <n>', 'its ports: Kafka <base>+92/+93/+94, S3 <base>, OIDC <base>+80, worker i ops <base>+200+i', '37000')
  .option('--keep-infra', 'leave its Kafka and S3 running at the end')
  .option('--out <dir>', 'where churn.json, churn.md, churn.png and the worker logs go (default: .loomwatch/churn/<run>)');
parseOrExit(command);
const values = command.opts<{
  membership: string;
  workers: string;
  load: string;
  rate: string;
  backlog: string;
  warm: string;
  settle: string;
  maxSettle: string;
  sessionTimeout: string;
  partitions: string;
  cameras: string;
  threads: string;
  model: string;
  state: string;
  portBase: string;
  keepInfra?: boolean;
  out?: string;
}>();

function number(name: string, value: string, min: number): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min) exitWithUsageError(NAME, `--${name} ${value}: expected a number ≥ ${min}`);
  return parsed;
}

type Membership = 'dynamic' | 'static';
const memberships: Membership[] =
  values.membership === 'both' ? ['dynamic', 'static'] : values.membership === 'dynamic' || values.membership === 'static' ? [values.membership] : exitWithUsageError(NAME, `--membership ${values.membership}: expected dynamic, static or both`);
const settings = {
  memberships,
  workers: number('workers', values.workers, 1),
  load: number('load', values.load, 0.05),
  rate: number('rate', values.rate, 0),
  backlogPerWorker: number('backlog', values.backlog, 5),
  warmSec: number('warm', values.warm, 5),
  settleSec: number('settle', values.settle, 5),
  maxSettleSec: number('max-settle', values.maxSettle, 5),
  sessionTimeoutMs: number('session-timeout', values.sessionTimeout, 6000),
  partitions: number('partitions', values.partitions, 1),
  camerasPerPartition: number('cameras', values.cameras, 1),
  threads: number('threads', values.threads, 1),
  model: values.model,
  portBase: number('port-base', values.portBase, 1024),
};
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
const out = values.out ?? join(REPO_ROOT, '.loomwatch/churn', `churn-${stamp}`);
mkdirSync(out, { recursive: true });
const SOURCE = '/loomwatch/bench/churn';

// The benchmark's own instance of deploy/local: its state and ports, so it disturbs neither the
// tests' instance (28xxx) nor a soak's nor the developer's default one.
const base = settings.portBase;
Object.assign(process.env, {
  LOOMWATCH_INFRA: 'local',
  LOOMWATCH_STATE: join(REPO_ROOT, values.state),
  KAFKA_PORT: String(base + 92),
  KAFKA_CONTROLLER_PORT: String(base + 93),
  KAFKA_SECURE_PORT: String(base + 94),
  S3_PORT: String(base),
  OIDC_PORT: String(base + 80),
});
const opsPort = (index: number): number => base + 200 + index;

/** The events of a run, in order; `remove` leaves the group for good (SIGUSR2 for a static member, whose SIGTERM stays). */
type EventKind = 'kill' | 'add' | 'remove' | 'rolling';
const EVENTS: { kind: EventKind; name: string }[] = [
  { kind: 'kill', name: 'worker SIGKILLed and restarted' },
  { kind: 'add', name: 'worker added' },
  { kind: 'remove', name: 'worker removed gracefully' },
  { kind: 'rolling', name: 'rolling restart of every worker' },
];
const EVENT_COLORS: Record<EventKind, string> = { kill: '#c0392b', add: '#27ae60', remove: '#d68910', rolling: '#8e44ad' };

interface EventResult {
  name: string;
  kind: EventKind;
  /** Seconds since the run started. */
  at: number;
  /** How long its action took (a rolling restart: every worker stopped and back to ready). */
  actionSec: number;
  wait: WaitStats;
  /** Seconds from the event until the lag was back at the steady level for good; null: not within the window. */
  lagSettledSec: number | null;
  /** The target: p99 ≤ 3 s through a graceful event, ≤ the session timeout + 2 s through a SIGKILL. */
  targetMs: number;
}

interface RunResult {
  membership: Membership;
  run: string;
  rate: number;
  steady: WaitStats & { lag: number };
  events: EventResult[];
  counts: SoakCounts;
  passed: boolean;
  workerKills: number;
  unexpectedWorkerExits: number;
  loadAverage: number[];
}

/** Roughly how long one run takes once its capacity is known: start, warm-up, each event's settle time, a rolling restart's steps, the drain. */
const RUN_SEC = 15 + settings.warmSec + EVENTS.length * settings.settleSec + settings.workers * 8 + 20;
/** When the whole benchmark should end, re-estimated at each phase (the progress line's ETA). */
let finishAt = Date.now();
let runsAfter = memberships.length - 1;
const expectLeft = (secondsInRun: number): void => {
  finishAt = Date.now() + (secondsInRun + runsAfter * RUN_SEC) * 1000;
};
/** Stops the benchmark's Kafka and S3 (unless --keep-infra); set once they are started. */
let stopInfra = (): Promise<void> => Promise.resolve();

/** Waits until worker `index` answers /readyz with 200 (its model loaded, its consumer in the group). */
async function ready(index: number, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${opsPort(index)}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`worker ${index + 1} was not ready within ${timeoutMs / 1000} s: see its log under ${out}`);
    await sleep(200);
  }
}

/** Verdicts and dead letters on the run's topics now (read_committed, our reader). */
async function outcomesNow(client: KafkaClient, topics: { verdicts: string; deadLetters: string }): Promise<{ decisions: Decision[]; deadLetters: number }> {
  const decisions: Decision[] = [];
  let deadLetters = 0;
  await client.reader.readToEnd([topics.verdicts, topics.deadLetters], (record) => {
    if (record.topic === topics.deadLetters) {
      deadLetters++;
      return;
    }
    const verdict = Verdict.parse(JSON.parse(record.value?.toString() ?? '{}'));
    decisions.push({ capturedAt: Date.parse(verdict.capturedAt), decidedAt: Date.parse(verdict.decidedAt) });
  });
  return { decisions, deadLetters };
}

/** The group's lag on the frames topic: published minus committed, all partitions. */
async function groupLag(offsets: BrokerOffsets, group: string, topic: string): Promise<number> {
  const [marks, committed] = await Promise.all([offsets.watermarks(topic), offsets.committed(group, topic)]);
  return marks.reduce((sum, mark) => sum + mark.high - (committed.get(mark.partition) ?? mark.low), 0);
}

async function runOnce(infra: Infra, membership: Membership, files: FrameFile[], measuredRate: number | undefined): Promise<RunResult> {
  const run = `churn-${stamp}-${membership}`;
  const runOut = join(out, membership);
  mkdirSync(runOut, { recursive: true });
  const topics = { frames: `${run}.frames`, verdicts: `${run}.verdicts`, deadLetters: `${run}.dlq`, control: `${run}.control`, shadow: `${run}.shadow` };
  const group = `${run}.workers`;
  const runStart = Date.now();
  const since = (): number => (Date.now() - runStart) / 1000;
  const client = createKafkaClient({ brokers: infra.kafkaBrokers, clientId: run });
  const offsets = client.offsets();
  const store = new S3BlobStore(infra.s3);
  await client.topics.ensure([
    { topic: topics.frames, numPartitions: settings.partitions },
    { topic: topics.verdicts, numPartitions: 4 },
    { topic: topics.deadLetters, numPartitions: 1 },
    { topic: topics.control, numPartitions: 1 },
    { topic: topics.shadow, numPartitions: 1 },
  ]);
  await store.ensureBucket(FRAME_BUCKET);

  const workers = new WorkerPool({
    infra,
    settings: (index) => ({
      WORKER_ID: `${run}-worker-${index}`,
      ...(membership === 'dynamic' ? { LOOMWATCH_WORKER__GROUP_INSTANCE_ID: 'none' } : {}),
      LOOMWATCH_MODEL: settings.model,
      LOOMWATCH_WORKER__GROUP_ID: group,
      LOOMWATCH_WORKER__INPUT_TOPIC: topics.frames,
      LOOMWATCH_WORKER__VERDICT_TOPIC: topics.verdicts,
      LOOMWATCH_WORKER__DEAD_LETTER_TOPIC: topics.deadLetters,
      LOOMWATCH_WORKER__CONTROL_TOPIC: topics.control,
      LOOMWATCH_WORKER__SHADOW_VERDICT_TOPIC: topics.shadow,
      LOOMWATCH_WORKER__SESSION_TIMEOUT_MS: settings.sessionTimeoutMs,
      LOOMWATCH_WORKER__LOG_FRAMES: 'false',
      LOOMWATCH_INFERENCE__INTRA_OP_NUM_THREADS: settings.threads,
      LOOMWATCH_OPS__PORT: opsPort(index),
      LOOMWATCH_LOG__LEVEL: 'info',
    }),
    logFile: (index) => join(runOut, `worker-${index}.log`),
  });
  workers.start(settings.workers);
  await Promise.all(Array.from({ length: settings.workers }, (_, i) => ready(i)));

  // ── publishing: the image first, then its event, as a gateway does ──────────────────────────
  const publisher: Publisher = client.publisher();
  await publisher.connect();
  const cameras = balancedCameras('churn', settings.partitions, settings.camerasPerPartition);
  let published = 0;
  const publishOne = async (): Promise<void> => {
    const i = published;
    const camera = cameras[i % cameras.length] ?? { lineId: 'churn-line-1', cameraId: 'cam-1' };
    const seq = Math.floor(i / cameras.length);
    const file = files[(i * 7) % files.length];
    if (file === undefined) throw new Error('no AITEX frames: set AITEX_DIR');
    const event = frameEvent(`${run}.${camera.cameraId}.${String(seq).padStart(8, '0')}`, camera, seq, file);
    await store.put({ bucket: FRAME_BUCKET, key: event.image.key }, file.body, 'image/png');
    await publisher.send([frameMessage(topics.frames, SOURCE, event)]);
    published++;
  };

  // ── the capacity: a backlog worked off by the steady pool ──────────────────────────────────
  let rate = measuredRate;
  expectLeft((rate === undefined ? 40 : 0) + RUN_SEC - 15);
  if (rate === undefined) {
    const backlog = settings.workers * settings.backlogPerWorker;
    console.log(`churn: ${membership}: measuring the capacity of ${settings.workers} workers on a backlog of ${backlog} frames`);
    for (let i = 0; i < backlog; i++) await publishOne();
    let decided: Decision[] = [];
    const deadline = Date.now() + 600_000;
    while (decided.length < backlog && Date.now() < deadline) {
      await sleep(2000);
      decided = (await outcomesNow(client, topics)).decisions;
    }
    const capacity = capacityFromBacklog(decided.map((d) => d.decidedAt));
    if (!Number.isFinite(capacity)) throw new Error(`the backlog of ${backlog} frames was not decided (${decided.length} verdicts): see the worker logs under ${runOut}`);
    rate = capacity * settings.load;
    console.log(`churn: capacity ${capacity.toFixed(2)} frames/s → steady load ${rate.toFixed(2)} frames/s (${Math.round(settings.load * 100)} %)`);
  } else {
    console.log(`churn: ${membership}: steady load ${rate.toFixed(2)} frames/s`);
  }
  const steadyRate = rate;

  // ── steady load and the lag, in the background ─────────────────────────────────────────────
  let loading = true;
  const loadStart = Date.now();
  const loadStartCount = published;
  const load = (async () => {
    for (let i = 0; loading; i++) {
      await sleep(Math.max(0, loadStart + (i / steadyRate) * 1000 - Date.now()));
      if (!loading) break;
      await publishOne().catch((err: unknown) => console.error(`churn: publishing failed (${err instanceof Error ? err.message : String(err)}); the frame is skipped`));
    }
  })();
  const lag: LagSample[] = [];
  let current = 'warming up';
  let sampling = true;
  const sampler = (async () => {
    for (let tick = 0; sampling; tick++) {
      const at = Date.now();
      const value = await groupLag(offsets, group, topics.frames).catch(() => undefined);
      if (value !== undefined) lag.push({ at, lag: value });
      if (tick % 10 === 0) {
        console.log(
          `churn: ${membership} ${Math.round(since())} s  [${current}]  published ${published}  lag ${value ?? '?'}  workers ${workers.indices.length}  load ${loadavg()[0]?.toFixed(2)}  ETA ${Math.max(0, Math.round((finishAt - Date.now()) / 1000))} s`,
        );
      }
      await sleep(Math.max(0, at + 1000 - Date.now()));
    }
  })();

  expectLeft(RUN_SEC - 15);
  await sleep(settings.warmSec * 1000);
  const steadyWindow = { from: loadStart + Math.min(5000, (settings.warmSec * 1000) / 4), to: Date.now() };
  const limit = steadyLag(lag, steadyWindow);
  /** Whether the last three lag samples are at the steady level: the group has worked off what the event left. */
  const settledNow = (): boolean => lag.length >= 3 && lag.slice(-3).every((sample) => sample.lag <= limit);

  // ── the events ─────────────────────────────────────────────────────────────────────────────
  const events: (ChurnEvent & { kind: EventKind; actionSec: number })[] = [];
  for (const [n, { kind, name }] of EVENTS.entries()) {
    current = name;
    expectLeft((EVENTS.length - n) * settings.settleSec + settings.workers * 8 + 20);
    const at = Date.now();
    console.log(`churn: ${membership} ${Math.round(since())} s  ${name}`);
    if (kind === 'kill') {
      workers.kill(0);
    } else if (kind === 'add') {
      const index = workers.add();
      await ready(index);
    } else if (kind === 'remove') {
      // The highest index, as a StatefulSet scales down; a static member is told it leaves for good.
      await workers.retire(Math.max(...workers.indices), membership === 'static' ? 'SIGUSR2' : 'SIGTERM');
    } else {
      // Highest index first, each back to ready before the next, as a StatefulSet's rolling update.
      for (const index of [...workers.indices].reverse()) {
        await workers.restart(index, 'SIGTERM');
        await ready(index);
      }
    }
    events.push({ name, kind, at, actionSec: (Date.now() - at) / 1000 });
    await sleep(Math.max(0, at + settings.settleSec * 1000 - Date.now()));
    // Each event starts from the steady state, so its figures are its own and not the last one's backlog.
    while (!settledNow() && Date.now() < at + Math.max(settings.settleSec, settings.maxSettleSec) * 1000) await sleep(500);
  }
  current = 'draining';
  expectLeft(20);
  loading = false;
  await load;
  const loadEnd = Date.now();
  const deadline = Date.now() + 180_000;
  for (;;) {
    const { decisions, deadLetters } = await outcomesNow(client, topics);
    if (decisions.length + deadLetters >= published || Date.now() > deadline) break;
    await sleep(2000);
  }
  sampling = false;
  await sampler;
  await workers.stop();
  await publisher.close();

  // ── the counts, from an independent client; the waits from the verdicts ─────────────────────
  const frames = new Map<string, number>();
  for (const record of readCommittedWithKcat(infra, topics.frames)) {
    const { frameId } = JSON.parse(record.payload) as { frameId: string };
    frames.set(frameId, (frames.get(frameId) ?? 0) + 1);
  }
  const verdicts = readCommittedWithKcat(infra, topics.verdicts).map((record) => Verdict.parse(JSON.parse(record.payload)));
  const deadLetters = readCommittedWithKcat(infra, topics.deadLetters).map((record) => {
    const letter = DeadLetter.parse(JSON.parse(record.payload));
    return { code: letter.reason.code, originalValue: letter.originalValue.slice(0, 400) };
  });
  const counts = countOutcomes({ frames, poison: new Map() }, { verdicts: verdicts.map((verdict) => verdict.frameId), deadLetters });
  const decisions = verdicts.map((verdict) => ({ capturedAt: Date.parse(verdict.capturedAt), decidedAt: Date.parse(verdict.decidedAt) }));
  const windows = eventWindows(events, loadEnd);
  const results: EventResult[] = events.map((event, i) => {
    const window = windows[i] ?? { name: event.name, from: event.at, to: loadEnd };
    const settled = lagSettledMs(lag, window, limit);
    return {
      name: event.name,
      kind: event.kind,
      at: (event.at - runStart) / 1000,
      actionSec: event.actionSec,
      wait: waitsIn(decisions, window),
      lagSettledSec: settled === undefined ? null : settled / 1000,
      targetMs: event.kind === 'kill' ? settings.sessionTimeoutMs + 2000 : 3000,
    };
  });
  const result: RunResult = {
    membership,
    run,
    rate: steadyRate,
    steady: { ...waitsIn(decisions, steadyWindow), lag: limit },
    events: results,
    counts,
    passed: passed(counts),
    workerKills: workers.kills,
    unexpectedWorkerExits: workers.unexpectedExits,
    loadAverage: loadavg(),
  };
  const overTimeWindows = overTime(
    decisions.filter((d) => d.capturedAt >= loadStart).map((d) => ({ decidedAt: d.decidedAt, latencyMs: d.decidedAt - d.capturedAt })),
    loadStart,
    5,
  );
  await renderSoakPlot(
    overTimeWindows,
    events.map((event) => ({ at: (event.at - loadStart) / 1000, label: event.name, color: EVENT_COLORS[event.kind] })),
    `pnpm bench:churn: ${membership} members, ${settings.workers} workers, ${steadyRate.toFixed(2)} frames/s (${published - loadStartCount} frames of steady load)`,
    join(runOut, 'churn.png'),
    Object.entries(EVENT_COLORS)
      .map(([kind, color]) => `<tspan fill="${color}">| ${EVENTS.find((e) => e.kind === kind)?.name ?? kind}</tspan>`)
      .join('  '),
  );
  await offsets.close();
  store.close();
  return result;
}

const ms = (value: number): string => (Number.isFinite(value) ? String(Math.round(value)) : '–');
const seconds = (value: number | null): string => (value === null ? 'not settled' : value.toFixed(1));

/** The before/after table: one row per event and membership. */
function table(runs: readonly RunResult[]): string {
  const rows = [
    '| event | members | frames | wait p50 ms | p99 ms | max ms | p99 target | lag back to steady (s) |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |',
  ];
  for (const run of runs) rows.push(`| steady load (${run.rate.toFixed(2)} frames/s, steady lag ≤ ${run.steady.lag}) | ${run.membership} | ${run.steady.frames} | ${ms(run.steady.p50Ms)} | ${ms(run.steady.p99Ms)} | ${ms(run.steady.maxMs)} | | |`);
  for (const { name } of EVENTS) {
    for (const run of runs) {
      const event = run.events.find((e) => e.name === name);
      if (event === undefined) continue;
      const met = event.wait.p99Ms <= event.targetMs ? '✓' : '✗';
      rows.push(`| ${name} | ${run.membership} | ${event.wait.frames} | ${ms(event.wait.p50Ms)} | ${ms(event.wait.p99Ms)} | ${ms(event.wait.maxMs)} | ≤ ${event.targetMs / 1000} s ${met} | ${seconds(event.lagSettledSec)} |`);
    }
  }
  rows.push('', '| members | frames | exactly one verdict | missing / extra | dead letters | worker SIGKILLs / other exits |', '| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const run of runs) {
    rows.push(
      `| ${run.membership} | ${run.counts.goodFrames} | ${run.counts.exactlyOnce} | ${run.counts.missingVerdicts.length} / ${run.counts.extraVerdicts.length} | ${run.counts.unexpectedDeadLetters.length} | ${run.workerKills} / ${run.unexpectedWorkerExits} |`,
    );
  }
  return rows.join('\n');
}

/** The runs' pictures one above the other: churn.png. */
async function stack(files: readonly string[], file: string): Promise<void> {
  const images = await Promise.all(files.map(async (path) => ({ path, meta: await sharp(path).metadata() })));
  const width = Math.max(...images.map((image) => image.meta.width ?? 0));
  let top = 0;
  const layers = images.map((image) => {
    const layer = { input: image.path, top, left: 0 };
    top += image.meta.height ?? 0;
    return layer;
  });
  await sharp({ create: { width, height: top, channels: 3, background: 'white' } })
    .composite(layers)
    .png()
    .toFile(file);
}

async function main(): Promise<void> {
  const plannedSec = (settings.rate > 0 ? 0 : 40) + memberships.length * RUN_SEC;
  console.log(`churn: starting its own Kafka and S3 (state ${process.env['LOOMWATCH_STATE'] ?? ''}, Kafka port ${base + 92}); about ${Math.round(plannedSec / 60)} min in all`);
  const handle = await startInfra();
  const infra = handle.infra;
  stopInfra = () => (values.keepInfra === true ? Promise.resolve() : handle.stop());
  if (infra.source !== 'local') throw new Error('the churn benchmark runs on its own local Kafka and S3 (deploy/local/infra.sh): unset KAFKA_BROKERS and S3_ENDPOINT');
  const files = loadFrameFiles();
  const runs: RunResult[] = [];
  try {
    let rate = settings.rate > 0 ? settings.rate : undefined;
    for (const membership of memberships) {
      const result = await runOnce(infra, membership, files, rate);
      runsAfter--;
      rate = result.rate;
      runs.push(result);
      writeFileSync(join(out, 'churn.json'), `${JSON.stringify({ settings, cpu: process.env['HOSTNAME'] ?? '', runs }, null, 2)}\n`);
    }
  } finally {
    await stopInfra();
  }
  const markdown = table(runs);
  writeFileSync(join(out, 'churn.md'), `${markdown}\n`);
  await stack(
    runs.map((run) => join(out, run.membership, 'churn.png')),
    join(out, 'churn.png'),
  );
  const allPassed = runs.every((run) => run.passed);
  console.log(`\n${markdown}\n\nload average at the end ${loadavg().map((v) => v.toFixed(2)).join(' ')}; ${allPassed ? 'PASSED' : 'FAILED'} (exactly once): ${join(out, 'churn.json')}, ${join(out, 'churn.md')}, ${join(out, 'churn.png')}`);
  process.exit(allPassed ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(`churn: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  void stopInfra().finally(() => process.exit(1));
});
