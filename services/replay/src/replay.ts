import { TOPICS, type ReplayPlan } from '@loomwatch/contracts';
import { ModelPool, createFrameProcessor, fixedDeployment, servedFor } from '@loomwatch/frame-pipeline';
import { EngineDecider } from '@loomwatch/inference';
import { readCpuFlags, readModelCard, resolveModel, selectPrecision } from '@loomwatch/model-registry';
import { createKafkaClient, requireTopics, type InboundRecord, type KafkaClient, type OutboundMessage, type RecordProcessor } from '@loomwatch/kafka';
import type { Logger } from '@loomwatch/observability';
import { S3BlobStore, type BlobStore } from '@loomwatch/storage';
import type { ReplayArgs } from './args.js';
import type { ReplayConfig } from './config.js';
import { replayBroker, type ReplayBroker } from './broker-offsets.js';
import { controlTopicPlanStore } from './plan-store.js';
import { checkTargetTopic, defaultTargetTopic, replayDeadLetterTopic } from './plan.js';
import { prepareReplay } from './prepare.js';
import { ReplayProgress, describeServed, formatProgressLine, summarise, type ReplaySummary, type ServedModel } from './progress.js';
import { createRecordFilter } from './selection.js';

interface ReplayOptions {
  config: ReplayConfig;
  args: ReplayArgs;
  logger: Logger;
  /** Where the Kafka client logs. @defaultValue `logger` */
  kafkaLogger?: Logger;
  /** The progress line, every 2 s and once at the end (and a line saying which version runs, at the start). */
  onProgress?: (line: string) => void;
}

interface RunningReplay {
  readonly plan: ReplayPlan;
  /** Resolves when every partition is committed up to its end (or `stop` was called). */
  readonly finished: Promise<ReplaySummary>;
  /** Stops fetching; frames decided but not committed are decided again by the next run. */
  stop(): Promise<ReplaySummary>;
}

const PROGRESS_INTERVAL_MS = 2000;

interface ReplayWorker {
  processor: RecordProcessor;
  pool: ModelPool;
}

function targetTopicOf(config: ReplayConfig, args: ReplayArgs, inputTopic: string): string {
  const target = args.toTopic ?? defaultTargetTopic(args.model);
  const w = config.worker;
  checkTargetTopic(
    target,
    {
      inputTopic,
      liveVerdictTopics: [TOPICS.verdicts, w.verdictTopic, TOPICS.shadowVerdicts, w.shadowVerdictTopic],
      otherLiveTopics: [TOPICS.frames, w.inputTopic, TOPICS.deadLetters, w.deadLetterTopic, TOPICS.control, w.controlTopic, TOPICS.alerts],
    },
    args.allowLiveTopic,
  );
  return target;
}

/**
 * Decides the plan's frames again with one pinned model version: `args.workers` consumers of the
 * replay's own group, each an exactly-once frame processor with its own model session, the verdict (or
 * dead letter) and the input offset in one transaction as in the live worker. Records outside
 * the selection or past the plan's end commit with no outcome.
 */
export async function startReplay(options: ReplayOptions): Promise<RunningReplay> {
  const { config, logger } = options;
  const started = performance.now();
  // The version that decides is the one named or, by --precision, its INT8 variant: the plan, its
  // id and the default topic are the version that decides, and every line says which it is.
  const chosen = await selectPrecision(`${options.args.model.name}@${options.args.model.version}`, {
    registryRoot: config.inference.registryRoot,
    precision: options.args.precision,
    cpuFlags: await readCpuFlags(),
  });
  const args: ReplayArgs = { ...options.args, model: { name: chosen.name, version: chosen.version } };
  const served: ServedModel = { precision: chosen.precision, ...(chosen.version === chosen.requested ? {} : { requested: chosen.requested }) };
  const model = describeServed(args.model, served);
  const inputTopic = args.inputTopic ?? config.worker.inputTopic;
  const targetTopic = targetTopicOf(config, args, inputTopic);
  options.onProgress?.(`replay: ${chosen.name}@${chosen.requested} runs as ${chosen.version} (${chosen.precision}): ${chosen.reason}`);
  const card = await readModelCard(await resolveModel(`${args.model.name}@${args.model.version}`, config.inference.registryRoot));

  const client = createKafkaClient({ ...config.kafka, clientId: `loomwatch-replay-${config.worker.id}` }, options.kafkaLogger ?? logger);
  const broker = replayBroker(client);
  let prepared;
  try {
    // The live topics it reads must exist (`loomwatch topics apply`); its own output topics it makes below.
    await requireTopics(client.topics, [inputTopic, config.worker.controlTopic]);
    prepared = await prepareReplay(
      { broker, plans: controlTopicPlanStore(client, config.worker.controlTopic) },
      { args, inputTopic, targetTopic, modelSha256: card.onnx.sha256 },
    );
  } catch (err) {
    await broker.close();
    throw err;
  }
  const { plan, groupId } = prepared;
  logger.info({ plan, created: prepared.created }, prepared.created ? 'replay planned' : 'continuing the stored replay plan');
  const progress = new ReplayProgress(plan.partitions, prepared.committed);
  if (progress.complete) {
    await broker.close();
    const summary = summarise(plan.id, 'already-complete', plan, progress.snapshot(), performance.now() - started, served);
    return { plan, finished: Promise.resolve(summary), stop: () => Promise.resolve(summary) };
  }

  const deadLetterTopic = replayDeadLetterTopic(targetTopic);
  // A replay's own topics: as many partitions as its input, the brokers' default replication.
  await client.topics.ensure([
    { topic: targetTopic, numPartitions: plan.partitions.length },
    { topic: deadLetterTopic, numPartitions: 1 },
  ]);
  const store = new S3BlobStore(config.s3);

  let workers: ReplayWorker[] = [];
  let ending: Promise<ReplaySummary> | undefined;
  let confirming = false;
  let resolveFinished!: (summary: ReplaySummary) => void;
  const finished = new Promise<ReplaySummary>((resolve) => (resolveFinished = resolve));
  const report = (): void => options.onProgress?.(formatProgressLine(plan.id, progress.snapshot(), model));

  // Called only once the workers run, after `ticker` below is set.
  const end = (status: 'complete' | 'stopped'): Promise<ReplaySummary> =>
    (ending ??= (async () => {
      // The rate is the work's, not the shutdown's: the consumers take a fetch wait to leave.
      const endedAt = Date.now();
      const wallMs = performance.now() - started;
      clearInterval(ticker);
      await Promise.all(workers.map((w) => w.processor.stop()));
      await Promise.all(workers.map((w) => w.pool.close()));
      store.close();
      await refreshCommitted(broker, groupId, plan, progress).catch(() => undefined);
      await broker.close();
      options.onProgress?.(formatProgressLine(plan.id, progress.snapshot(endedAt), model));
      const summary = summarise(plan.id, status, plan, progress.snapshot(endedAt), wallMs, served);
      resolveFinished(summary);
      return summary;
    })());

  /** Ends the run once the broker agrees that every partition is committed to its end. */
  const finish = async (): Promise<void> => {
    if (confirming || ending !== undefined || workers.length === 0) return;
    confirming = true;
    try {
      await refreshCommitted(broker, groupId, plan, progress);
      if (progress.complete) await end('complete');
    } catch (err) {
      logger.warn({ err }, 'could not read the replay group offsets; trying again at the next progress tick');
    } finally {
      confirming = false;
    }
  };

  try {
    await store.ensureBucket(config.worker.outputBucket);
    const replayConfig = { ...config, worker: { ...config.worker, deadLetterTopic } };
    workers = await startWorkers({
      config: replayConfig,
      plan,
      requested: chosen.requested,
      groupId,
      client,
      store,
      logger,
      progress,
      workers: args.workers,
      onComplete: () => void finish(),
    });
  } catch (err) {
    store.close();
    await broker.close();
    throw err;
  }
  // Loading models and joining the group are not the replay's rate.
  progress.restartClock();
  const ticker = setInterval(() => {
    report();
    // Another process may run the same replay: the broker's offsets count too.
    void finish();
  }, PROGRESS_INTERVAL_MS);
  if (progress.complete) void finish();

  return { plan, finished, stop: () => end('stopped') };
}

async function refreshCommitted(broker: ReplayBroker, groupId: string, plan: ReplayPlan, progress: ReplayProgress): Promise<void> {
  for (const [partition, offset] of await broker.committed(groupId, plan.inputTopic)) progress.commit(partition, offset);
}

async function startWorkers(input: {
  config: ReplayConfig;
  plan: ReplayPlan;
  /** The version `--model` named (the plan's, or the one its INT8 variant runs for). */
  requested: string;
  groupId: string;
  client: KafkaClient;
  store: BlobStore;
  logger: Logger;
  progress: ReplayProgress;
  workers: number;
  onComplete: () => void;
}): Promise<ReplayWorker[]> {
  const { config, plan, groupId, client, store, logger, progress } = input;
  const { name, version } = plan.model;
  const fateOf = createRecordFilter(plan);
  if (input.workers > plan.partitions.length) {
    logger.warn({ workers: input.workers, partitions: plan.partitions.length }, 'more workers than input partitions: the extra ones stay idle');
  }
  const loads = await Promise.allSettled(
    Array.from({ length: input.workers }, () =>
      ModelPool.start(
        async (v) => servedFor(await EngineDecider.load({ model: `${name}@${v}`, ...config.inference, overlayFormat: config.worker.overlayFormat, overlays: config.worker.overlays }), input.requested),
        fixedDeployment(name, version),
      ),
    ),
  );
  const pools = loads.flatMap((load) => (load.status === 'fulfilled' ? [load.value] : []));
  const failed = loads.find((load): load is PromiseRejectedResult => load.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(pools.map((pool) => pool.close()));
    throw failed.reason;
  }
  const onCommitted = (records: readonly InboundRecord[], outputs: readonly OutboundMessage[]): void => {
    for (const record of records) {
      progress.commit(record.partition, Number(record.offset) + 1);
      if (fateOf(record) === 'outside-selection') progress.count('skipped');
    }
    for (const message of outputs) {
      if (message.topic === plan.targetTopic) progress.count('decided');
      else if (message.topic === config.worker.deadLetterTopic) progress.count('deadLettered');
    }
    if (progress.complete) input.onComplete();
  };
  const workers = pools.map((pool, index) => {
    const processor = createFrameProcessor({
      // The progress line tells a replay's story; a line per frame would bury it.
      pipeline: { ...config.worker, logFrames: false },
      client,
      store,
      router: pool,
      logger,
      groupId,
      inputTopic: plan.inputTopic,
      verdictTopic: plan.targetTopic,
      workerId: `replay-${index + 1}.${plan.id}`.slice(0, 128),
      source: `/loomwatch/replay/${plan.id}`,
      select: (record) => fateOf(record) === 'decide',
      maxWaitTimeMs: 500, // a finished replay stops within half a second
      onCommitted,
    });
    return { processor, pool };
  });
  try {
    await Promise.all(workers.map((w) => w.processor.start()));
  } catch (err) {
    await Promise.all(workers.map((w) => w.processor.stop().catch(() => undefined)));
    await Promise.all(pools.map((pool) => pool.close()));
    throw err;
  }
  return workers;
}
