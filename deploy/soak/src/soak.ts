/**
 * `soak`: AITEX frames from several simulated lines through a pool of inference workers on
 * the local broker and S3, while a worker is SIGKILLed every `--kill-every` seconds and restarted,
 * the broker is restarted once and S3 is stopped for `--s3-outage` seconds; about 1 % of the
 * messages are poison of every kind the worker dead-letters. At the end kcat reads the frames,
 * verdicts and dead letters read_committed and every input must have exactly one outcome.
 * Writes soak.json and soak.png (throughput and latency over time, faults marked) under --out.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandName, exitWithUsageError, newCommand, parseOrExit } from '@loomwatch/config';
import { DeadLetter, Verdict } from '@loomwatch/contracts';
import { sleep } from '@loomwatch/concurrency';
import { createKafkaClient, type Publisher } from '@loomwatch/kafka';
import { quantile } from '@loomwatch/observability';
import { S3BlobStore } from '@loomwatch/storage';
import { REPO_ROOT, readCommittedWithKcat, runInfraScript, startInfra } from '@loomwatch/testkit';
import { countOutcomes, overTime, passed, type Inputs } from './counts.js';
import { FRAME_BUCKET, cameras as cameraNames, frameEvent, frameMessage, loadFrameFiles } from './frames.js';
import { renderSoakPlot, type FaultMark } from './plot.js';
import { POISON_KINDS, poisonFrame, poisonImages } from './poison.js';
import { WorkerPool } from './workers.js';

const NAME = commandName('pnpm soak');

function fail(message: string): never {
  console.error(`${NAME}: ${message}`);
  process.exit(2);
}

const command = newCommand({
  name: 'pnpm soak',
  summary: 'AITEX frames from several simulated lines through a pool of inference workers under faults (SIGKILLs, a broker restart, an S3 outage, poison of every kind); every input must end with exactly one outcome. Starts and stops the local Kafka and S3 itself.',
  examples: ['loomwatch soak --frames 600 --rate 1.5', 'loomwatch soak --frames 10000 --rate 1.7 --out /tmp/soak-10k'],
  notes: ['Exit codes: 0 every outcome exact, 1 a count is off (soak.json says which), 2 bad usage.'],
})
  .option('--frames <n>', 'messages to publish, poison included', '10000')
  .option('--rate <r>', 'messages per second, all cameras together', '1.5')
  .option('--lines <n>', 'simulated lines', '3')
  .option('--cameras <n>', 'cameras per line', '2')
  .option('--workers <n>', 'inference worker processes', '2')
  .option('--threads <n>', 'onnxruntime threads per worker', '1')
  .option('--model <name@version>', 'model version the workers serve (the soak tests the pipeline, not the model)', 'draem-random@0.0.1')
  .option('--kill-every <s>', 'SIGKILL one worker every s seconds, then restart it (0 = never)', '20')
  .option('--poison-every <p>', 'every p-th message is poison, the kinds in turn', '100')
  .option('--s3-outage <s>', 'seconds S3 is stopped, once, at 65 % of the frames (0 = never)', '30')
  .option('--no-broker-restart', 'do not restart the broker (at 40 % of the frames)')
  .option('--membership <kind>', 'static: each worker a static group member under its WORKER_ID (a restarted worker gets its partitions back without a rebalance); dynamic: a new member each start', 'static')
  .option('--drain <s>', 'seconds to wait for the last outcomes after publishing', '900')
  .option('--out <dir>', 'where soak.json, soak.png and the worker logs go (default: .loomwatch/soak/<run>)');
parseOrExit(command);
const values = command.opts<{
  frames: string;
  rate: string;
  lines: string;
  cameras: string;
  workers: string;
  threads: string;
  model: string;
  killEvery: string;
  poisonEvery: string;
  s3Outage: string;
  brokerRestart: boolean;
  membership: string;
  drain: string;
  out?: string;
}>();

function number(name: string, value: string, min: number): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min) exitWithUsageError(NAME, `--${name} ${value}: expected a number ≥ ${min}`);
  return parsed;
}

const settings = {
  frames: number('frames', values.frames, 1),
  rate: number('rate', values.rate, 0.01),
  lines: number('lines', values.lines, 1),
  cameras: number('cameras', values.cameras, 1),
  workers: number('workers', values.workers, 1),
  threads: number('threads', values.threads, 1),
  model: values.model,
  killEverySec: number('kill-every', values.killEvery, 0),
  poisonEvery: number('poison-every', values.poisonEvery, 2),
  s3OutageSec: number('s3-outage', values.s3Outage, 0),
  brokerRestart: values.brokerRestart,
  membership: values.membership === 'static' || values.membership === 'dynamic' ? values.membership : exitWithUsageError(NAME, `--membership ${values.membership}: expected static or dynamic`),
  drainSec: number('drain', values.drain, 10),
};
const run = `soak-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}`;
const out = values.out ?? join(REPO_ROOT, '.loomwatch/soak', run);
mkdirSync(out, { recursive: true });
// The run's own topics, the workers' control and shadow topics included (they check theirs exist at start).
const topics = { frames: `${run}.frames`, verdicts: `${run}.verdicts`, deadLetters: `${run}.dlq`, control: `${run}.control`, shadow: `${run}.shadow` };
const startedAt = Date.now();
const elapsed = (): number => (Date.now() - startedAt) / 1000;
const faults: FaultMark[] = [];

function infraScript(command: string): void {
  const result = runInfraScript(command);
  if (!result.ok) throw new Error(`infra.sh ${command} failed: ${result.output}`);
}

// ── publishing, as a gateway would: the image first, then its event ─────────────────────────

async function retrying<T>(what: string, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt % 10 === 1) console.error(`soak: ${what} failed (${err instanceof Error ? err.message : String(err)}), retrying`);
      await sleep(1000);
    }
  }
}

/** One partition per camera (at least two per worker): with the cameras spread one to a partition, every worker gets the same share. */
const framePartitions = Math.max(settings.workers * 2, settings.lines * settings.cameras);

async function main(): Promise<void> {
  const infra = (await startInfra()).infra;
  if (infra.source !== 'local') fail('the soak restarts the broker and S3: run it on the local servers of deploy/local (unset KAFKA_BROKERS and S3_ENDPOINT, or set LOOMWATCH_INFRA=local)');
  const client = createKafkaClient({ brokers: infra.kafkaBrokers, clientId: run });
  const store = new S3BlobStore(infra.s3);
  await client.topics.ensure([
    { topic: topics.frames, numPartitions: framePartitions },
    { topic: topics.verdicts, numPartitions: 4 },
    { topic: topics.deadLetters, numPartitions: 1 },
    { topic: topics.control, numPartitions: 1 },
    { topic: topics.shadow, numPartitions: 1 },
  ]);
  await store.ensureBucket(FRAME_BUCKET);

  const files = loadFrameFiles();
  const images = await poisonImages();
  const poisonCodes = new Map<string, string>();
  const cameras = cameraNames('soak', settings.lines, settings.cameras, framePartitions);

  // The workers, restarted whenever one exits (an orchestrator's job); one SIGKILLed every --kill-every, in turn.
  const workers = new WorkerPool({
    infra,
    settings: (index) => ({
      WORKER_ID: `${run}-worker-${index + 1}`,
      ...(settings.membership === 'dynamic' ? { LOOMWATCH_WORKER__GROUP_INSTANCE_ID: 'none' } : {}),
      LOOMWATCH_MODEL: settings.model,
      LOOMWATCH_WORKER__GROUP_ID: `${run}.workers`,
      LOOMWATCH_WORKER__INPUT_TOPIC: topics.frames,
      LOOMWATCH_WORKER__VERDICT_TOPIC: topics.verdicts,
      LOOMWATCH_WORKER__DEAD_LETTER_TOPIC: topics.deadLetters,
      LOOMWATCH_WORKER__CONTROL_TOPIC: topics.control,
      LOOMWATCH_WORKER__SHADOW_VERDICT_TOPIC: topics.shadow,
      LOOMWATCH_WORKER__SESSION_TIMEOUT_MS: 10_000,
      LOOMWATCH_WORKER__LOG_FRAMES: 'false',
      LOOMWATCH_INFERENCE__INTRA_OP_NUM_THREADS: settings.threads,
      LOOMWATCH_OPS__PORT: 0,
      LOOMWATCH_LOG__LEVEL: 'info',
    }),
    logFile: (index) => join(out, `worker-${index + 1}.log`),
  });
  workers.start(settings.workers);
  const killer =
    settings.killEverySec > 0
      ? setInterval(() => {
          if (workers.kill(workers.kills % settings.workers)) faults.push({ at: elapsed(), label: 'worker SIGKILL' });
        }, settings.killEverySec * 1000)
      : undefined;

  let publisher: Publisher = client.publisher();
  await retrying('connecting the publisher', () => publisher.connect());
  let published = 0;
  let brokerRestarted = !settings.brokerRestart;
  let s3Outage: Promise<void> | undefined = settings.s3OutageSec > 0 ? undefined : Promise.resolve();
  let progressAt = 0;
  const progress = async (final = false): Promise<{ decided: number; deadLettered: number }> => {
    let decided = 0;
    let deadLettered = 0;
    await client.reader.readToEnd([topics.verdicts, topics.deadLetters], (record) => {
      if (record.topic === topics.verdicts) decided++;
      else deadLettered++;
    });
    const done = decided + deadLettered;
    const rate = done / Math.max(1, elapsed());
    const eta = rate > 0 ? Math.round((settings.frames - done) / rate) : NaN;
    console.log(
      `soak: ${Math.round(elapsed())} s  published ${published}/${settings.frames}  decided ${decided}  dead-lettered ${deadLettered}  kills ${workers.kills}  ${final ? '' : `ETA ${Number.isFinite(eta) ? `${eta} s` : '?'}`}`,
    );
    return { decided, deadLettered };
  };

  for (let i = 0; i < settings.frames; i++) {
    await sleep(Math.max(0, startedAt + (i / settings.rate) * 1000 - Date.now()));
    if (!brokerRestarted && i >= settings.frames * 0.4) {
      brokerRestarted = true;
      console.log(`soak: ${Math.round(elapsed())} s  restarting the broker`);
      faults.push({ at: elapsed(), label: 'broker restart' });
      await publisher.close().catch(() => undefined);
      infraScript('stop-kafka');
      infraScript('start-kafka');
      publisher = client.publisher();
      await retrying('reconnecting the publisher', () => publisher.connect());
    }
    if (s3Outage === undefined && i >= settings.frames * 0.65) {
      console.log(`soak: ${Math.round(elapsed())} s  stopping S3 for ${settings.s3OutageSec} s`);
      faults.push({ at: elapsed(), seconds: settings.s3OutageSec, label: 'S3 down' });
      infraScript('stop-s3');
      s3Outage = sleep(settings.s3OutageSec * 1000).then(() => infraScript('start-s3'));
    }
    const camera = cameras[i % cameras.length] ?? { lineId: 'soak-line-1', cameraId: 'cam-1' };
    const seq = Math.floor(i / cameras.length);
    const file = files[(i * 7) % files.length] ?? files[0];
    if (file === undefined) fail('no AITEX frames found: set AITEX_DIR');
    const frameId = `${run}.${camera.lineId}.${camera.cameraId}.${String(seq).padStart(8, '0')}`;
    const event = frameEvent(frameId, camera, seq, file);
    let message;
    if (i % settings.poisonEvery === settings.poisonEvery - 1) {
      const poison = poisonFrame(Math.floor(i / settings.poisonEvery), event, file.body, images, FRAME_BUCKET);
      for (const upload of poison.uploads) await retrying(`uploading ${upload.key}`, () => store.put({ bucket: upload.bucket, key: upload.key }, upload.body, 'image/png'));
      poisonCodes.set(poison.tag, poison.code);
      message = frameMessage(topics.frames, `/loomwatch/soak/${run}`, event, poison.value);
    } else {
      await retrying(`uploading ${event.image.key}`, () => store.put({ bucket: FRAME_BUCKET, key: event.image.key }, file.body, 'image/png'));
      message = frameMessage(topics.frames, `/loomwatch/soak/${run}`, event);
    }
    await retrying(`publishing ${frameId}`, () => publisher.send([message]));
    published++;
    if (Date.now() - progressAt > 30_000) {
      progressAt = Date.now();
      await progress();
    }
  }
  await s3Outage;
  await publisher.close();

  const drainDeadline = Date.now() + settings.drainSec * 1000;
  for (;;) {
    const { decided, deadLettered } = await progress();
    if (decided + deadLettered >= settings.frames || Date.now() > drainDeadline) break;
    await sleep(10_000);
  }
  if (killer !== undefined) clearInterval(killer);
  await workers.stop();

  // ── the counts, from an independent client ───────────────────────────────────────────────
  const inputs: Inputs = { frames: new Map(), poison: new Map() };
  for (const record of readCommittedWithKcat(infra, topics.frames)) {
    const tag = /soak-poison-\d+/.exec(record.payload.slice(0, 400))?.[0];
    if (tag !== undefined) {
      inputs.poison.set(tag, poisonCodes.get(tag) ?? 'UNKNOWN');
      continue;
    }
    const { frameId } = JSON.parse(record.payload) as { frameId: string };
    inputs.frames.set(frameId, (inputs.frames.get(frameId) ?? 0) + 1);
  }
  const verdicts = readCommittedWithKcat(infra, topics.verdicts).map((record) => Verdict.parse(JSON.parse(record.payload)));
  const deadLetters = readCommittedWithKcat(infra, topics.deadLetters).map((record) => {
    const letter = DeadLetter.parse(JSON.parse(record.payload));
    const original = letter.originalValueEncoding === 'base64' ? Buffer.from(letter.originalValue, 'base64').toString('latin1') : letter.originalValue;
    return { code: letter.reason.code, originalValue: original.slice(0, 400) };
  });
  const counts = countOutcomes(inputs, { verdicts: verdicts.map((verdict) => verdict.frameId), deadLetters });
  const samples = verdicts.map((verdict) => ({ decidedAt: Date.parse(verdict.decidedAt), latencyMs: Date.parse(verdict.decidedAt) - Date.parse(verdict.capturedAt) }));
  const windows = overTime(samples, startedAt, 30);
  const latencies = samples.map((sample) => sample.latencyMs).sort((a, b) => a - b);
  const lastDecision = Math.max(...samples.map((sample) => sample.decidedAt));
  const summary = {
    run,
    settings,
    cpu: readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown',
    seconds: Math.round((lastDecision - startedAt) / 1000),
    verdictsPerSecond: verdicts.length / ((lastDecision - startedAt) / 1000),
    latencyMs: { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: latencies[latencies.length - 1] ?? NaN },
    faults: { workerKills: workers.kills, unexpectedWorkerExits: workers.unexpectedExits, brokerRestarts: settings.brokerRestart ? 1 : 0, s3OutageSeconds: settings.s3OutageSec },
    counts,
    passed: passed(counts),
    faultTimes: faults,
    windows,
  };
  writeFileSync(join(out, 'soak.json'), `${JSON.stringify(summary, null, 2)}\n`);
  await renderSoakPlot(windows, faults, `pnpm soak: ${settings.frames} messages, ${settings.workers} ${settings.membership} workers, ${workers.kills} SIGKILLs, ${settings.brokerRestart ? 'broker restart' : 'no broker restart'}, S3 down ${settings.s3OutageSec} s`, join(out, 'soak.png'));

  console.log(`
| | count |
| --- | --- |
| good frames published | ${counts.goodFrames} |
| … with exactly one verdict per input record | ${counts.exactlyOnce} |
| … missing a verdict / with an extra verdict | ${counts.missingVerdicts.length} / ${counts.extraVerdicts.length} |
| input records published twice (a publish retried) | ${counts.duplicatedInputs} |
| poison frames published | ${counts.poisonFrames} |
| … dead-lettered once with their code | ${counts.poisonDeadLettered} |
| … missing / wrong code / twice | ${counts.poisonMissing.length} / ${counts.poisonWrongCode.length} / ${counts.poisonDuplicated.length} |
| other dead letters | ${counts.unexpectedDeadLetters.length} |
| worker SIGKILLs / other worker exits | ${workers.kills} / ${workers.unexpectedExits} |

verdicts/s ${summary.verdictsPerSecond.toFixed(2)} over ${summary.seconds} s; frame → verdict p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms, max ${summary.latencyMs.max} ms (${settings.membership} members)
dead letters by code: ${JSON.stringify(counts.byCode)}
${summary.passed ? 'PASSED' : 'FAILED'}: ${join(out, 'soak.json')}, ${join(out, 'soak.png')}`);
  if (!summary.passed) {
    console.log(JSON.stringify({ missing: counts.missingVerdicts.slice(0, 10), extra: counts.extraVerdicts.slice(0, 10), poisonMissing: counts.poisonMissing.slice(0, 10), wrong: counts.poisonWrongCode.slice(0, 10), unexpected: counts.unexpectedDeadLetters.slice(0, 10) }, null, 2));
  }
  store.close();
  process.exit(summary.passed ? 0 : 1);
}

if (settings.frames < POISON_KINDS * settings.poisonEvery) {
  console.log(`soak: note: ${settings.frames} messages hold ${Math.floor(settings.frames / settings.poisonEvery)} poison frames, fewer than the ${POISON_KINDS} kinds`);
}
main().catch((err: unknown) => {
  console.error(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
