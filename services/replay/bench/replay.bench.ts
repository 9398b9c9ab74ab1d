/**
 * `pnpm bench:replay [--model name@version] [--frames K] [--rounds R] [--threads T]`
 *
 * Replay throughput against the live pipeline's, same frames, same machine, same run, on the real
 * broker and S3. K frames are published once; then, R times (alternating which goes first):
 *  - live: the live worker's frame processor (`createFrameProcessor` over a model pool pinned to
 *    the version, in-process, T onnxruntime threads) drains the backlog of K frames from a fresh
 *    group into a fresh verdicts topic — the worker without its ops server and metrics;
 *  - replay: `startReplay` (one worker, T threads) decides the same K frames into a fresh replay topic.
 * Both rates are steady-state frames/s from the verdicts' `decidedAt` between the 3rd and the last,
 * so model loading and group joins count for neither. Prints the medians and the ratio
 * replay / live (target ≥ 0.95); progress on stderr, the last stdout line is one JSON object.
 */
import { newCommand, parseOrExit } from '@loomwatch/config';
import { Verdict, decodeMessage } from '@loomwatch/contracts';
import { ModelPool, createFrameProcessor, fixedDeployment } from '@loomwatch/frame-pipeline';
import { cameraFrames, publishTestFrames } from '@loomwatch/frame-pipeline/testing';
import { EngineDecider } from '@loomwatch/inference';
import { createKafkaClient, type KafkaClient } from '@loomwatch/kafka';
import { createLogger, quantile } from '@loomwatch/observability';
import { S3BlobStore, type BlobStore } from '@loomwatch/storage';
import { aitexFrames, startInfra, type Infra } from '@loomwatch/testkit';
import { parseModelRef, parseReplayArgs, type ReplayArgs } from '../src/args.js';
import { ReplayConfig } from '../src/config.js';
import { startReplay } from '../src/replay.js';

const command = newCommand({
  name: 'pnpm bench:replay',
  summary: "Replay throughput against the live pipeline's, same frames, same machine, same run, on the local broker and S3.",
  examples: ['loomwatch bench replay --frames 40 --rounds 3'],
})
  .option('--model <name@version>', 'model version both decide with', 'draem-random@0.0.1')
  .option('--frames <k>', 'frames per round (rounded up to a multiple of 4)', '40')
  .option('--rounds <r>', 'rounds (medians are reported)', '3')
  .option('--threads <t>', 'onnxruntime threads', '2');
parseOrExit(command);
const values = command.opts<{
  model: string;
  frames: string;
  rounds: string;
  threads: string;
}>();
const model = values.model;
const frames = Math.ceil(Number(values.frames) / 4) * 4;
const rounds = Number(values.rounds);
const threads = Number(values.threads);
const progress = (line: string): boolean => process.stderr.write(`${line}\n`);
const logger = createLogger({ service: 'bench', level: 'silent' });

const median = (values: readonly number[]): number => quantile([...values].sort((a, b) => a - b), 0.5);

/** Steady-state rate: verdicts after the 3rd over the time from the 3rd to the last. */
function steadyFramesPerSec(verdicts: readonly Verdict[]): number {
  const decided = verdicts.map((v) => Date.parse(v.decidedAt)).sort((a, b) => a - b);
  const first = decided[2] ?? 0;
  const last = decided[decided.length - 1] ?? 0;
  return (decided.length - 3) / ((last - first) / 1000);
}

/** The first `count` committed verdicts of `topic` (which may not exist yet). */
async function collectVerdicts(client: KafkaClient, topic: string, count: number): Promise<Verdict[]> {
  await client.topics.ensure([{ topic, numPartitions: 4 }]);
  const verdicts: Verdict[] = [];
  let collected = (): void => undefined;
  const done = new Promise<void>((resolve) => (collected = resolve));
  const subscription = await client.reader.follow(topic, (record) => {
    if (verdicts.length < count) verdicts.push(decodeMessage(Verdict, record.value));
    if (verdicts.length === count) collected();
  });
  await done;
  await subscription.stop();
  return verdicts;
}

interface BenchTopics {
  frames: string;
  dlq: string;
  control: string;
  bucket: string;
  outputBucket: string;
}

function configFor(infra: Infra, t: BenchTopics): ReplayConfig {
  return ReplayConfig.parse({
    kafka: { brokers: infra.kafkaBrokers },
    s3: infra.s3,
    worker: {
      id: 'bench',
      inputTopic: t.frames,
      deadLetterTopic: t.dlq,
      controlTopic: t.control,
      allowedBuckets: [t.bucket],
      outputBucket: t.outputBucket,
    },
    inference: { intraOpNumThreads: threads },
    log: { level: 'silent' },
  });
}

async function liveRound(client: KafkaClient, store: BlobStore, infra: Infra, t: BenchTopics, tag: string): Promise<number> {
  const verdictTopic = `${tag}-live`;
  const reading = collectVerdicts(client, verdictTopic, frames);
  const config = configFor(infra, t);
  const { name, version } = parseModelRef(model);
  const pool = await ModelPool.start(
    () => EngineDecider.load({ model, ...config.inference, overlayFormat: config.worker.overlayFormat, overlays: config.worker.overlays }),
    fixedDeployment(name, version),
  );
  const processor = createFrameProcessor({
    pipeline: config.worker,
    client,
    store,
    router: pool,
    logger,
    groupId: `${tag}-live-workers`,
    inputTopic: t.frames,
    verdictTopic,
    workerId: 'bench',
    source: '/loomwatch/bench',
  });
  await processor.start();
  const verdicts = await reading;
  await processor.stop();
  await pool.close();
  return steadyFramesPerSec(verdicts);
}

async function replayRound(client: KafkaClient, infra: Infra, t: BenchTopics, tag: string): Promise<number> {
  const replayTopic = `${tag}-replay`;
  const reading = collectVerdicts(client, replayTopic, frames);
  const args = parseReplayArgs(['--from', 'earliest', '--model', model, '--to-topic', replayTopic, '--name', tag]) as ReplayArgs;
  const replay = await startReplay({ config: configFor(infra, t), args, logger });
  const summary = await replay.finished;
  const verdicts = await reading;
  if (summary.decided !== frames) throw new Error(`the replay decided ${summary.decided} of ${frames} frames`);
  return steadyFramesPerSec(verdicts);
}

const handle = await startInfra();
const client = createKafkaClient({ brokers: handle.infra.kafkaBrokers, clientId: 'bench-replay' });
const store = new S3BlobStore(handle.infra.s3);
const tag = `bench-replay-${Date.now()}`;
const t: BenchTopics = { frames: `${tag}-frames`, dlq: `${tag}-dlq`, control: `${tag}-control`, bucket: `${tag}-frames`, outputBucket: `${tag}-results` };
const created: string[] = [t.frames, t.dlq, t.control];
try {
  progress(`replay bench: model ${model}, ${frames} frames, ${rounds} rounds, ${threads} onnxruntime thread(s) each`);
  await client.topics.ensure([{ topic: t.frames, numPartitions: 4 }]);
  await store.ensureBucket(t.bucket);
  await store.ensureBucket(t.outputBucket);
  const files = aitexFrames()
    .map((frame) => frame.path)
    .sort();
  await publishTestFrames(
    { client, store, bucket: t.bucket, topic: t.frames },
    await cameraFrames({ files, lines: 2, camerasPerLine: 2, framesPerCamera: frames / 4, firstSeq: 1 }),
  );

  const live: number[] = [];
  const replay: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const roundTag = `${tag}-r${round}`;
    created.push(`${roundTag}-live`, `${roundTag}-replay`);
    // Alternate the order so neither side always runs on a machine warmed (or loaded) by the other.
    const order = round % 2 === 1 ? (['live', 'replay'] as const) : (['replay', 'live'] as const);
    for (const side of order) {
      const fps = side === 'live' ? await liveRound(client, store, handle.infra, t, roundTag) : await replayRound(client, handle.infra, t, roundTag);
      (side === 'live' ? live : replay).push(fps);
      progress(`  round ${round}: ${side} ${fps.toFixed(3)} frames/s`);
    }
  }
  const liveMedian = median(live);
  const replayMedian = median(replay);
  const ratio = replayMedian / liveMedian;
  console.log(`live   ${liveMedian.toFixed(3)} frames/s (median of ${live.map((v) => v.toFixed(3)).join(', ')})`);
  console.log(`replay ${replayMedian.toFixed(3)} frames/s (median of ${replay.map((v) => v.toFixed(3)).join(', ')})`);
  console.log(`replay / live = ${ratio.toFixed(3)} (target ≥ 0.95)`);
  console.log(
    JSON.stringify({
      bench: 'replay',
      model,
      frames,
      rounds,
      threads,
      liveFramesPerSec: Number(liveMedian.toFixed(3)),
      replayFramesPerSec: Number(replayMedian.toFixed(3)),
      ratio: Number(ratio.toFixed(3)),
      live,
      replay,
    }),
  );
} finally {
  const existing = new Set(await client.topics.list());
  await client.topics.delete(created.filter((topic) => existing.has(topic))).catch(() => undefined);
  await store.removeBucket(t.bucket).catch(() => undefined);
  await store.removeBucket(t.outputBucket).catch(() => undefined);
  store.close();
  await handle.stop();
}
