import { ExactlyOnceProcessor, createKafka, ensureTopics, type InboundRecord, type OutboundMessage } from '@loomwatch/kafka';
import { createMetricsRegistry, startOpsServer, type Logger } from '@loomwatch/observability';
import { S3BlobStore } from '@loomwatch/storage';
import type { WorkerConfig } from './config.js';
import { EngineDecider } from './engine-decider.js';
import type { FrameDecider } from './frame-decider.js';
import { createDeadLetterBuilder, createFrameHandler } from './frame-handler.js';
import { WorkerMetrics } from './metrics.js';

export interface RunningWorker {
  readonly model: FrameDecider['model'];
  readonly opsPort: number;
  /** Stops fetching, drops uncommitted in-flight frames (their new owner decides them), closes. */
  stop(): Promise<void>;
}

const LAG_POLL_MS = 10_000;

/** Wires the worker from its config: Kafka, S3, the model, metrics and the ops server. */
export async function startWorker(config: WorkerConfig, logger: Logger): Promise<RunningWorker> {
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: `inference-worker-${config.worker.id}` }, logger);
  const store = new S3BlobStore(config.s3);
  const decider = await EngineDecider.load({ model: config.model, ...config.inference, overlayFormat: config.worker.overlayFormat });
  logger.info({ model: decider.model }, 'model loaded');

  const registry = createMetricsRegistry({ service: 'inference-worker', worker: config.worker.id });
  const metrics = new WorkerMetrics(registry);
  metrics.modelInfo.set({ ...decider.model }, 1);

  await ensureTopics(kafka, [
    { topic: config.worker.inputTopic, numPartitions: 4 },
    { topic: config.worker.verdictTopic, numPartitions: 4 },
    { topic: config.worker.deadLetterTopic, numPartitions: 1 },
  ]);
  await store.ensureBucket(config.worker.outputBucket);

  const source = `/loomwatch/inference-worker/${config.worker.id}`;
  const handlerConfig = {
    workerId: config.worker.id,
    allowedBuckets: config.worker.allowedBuckets,
    outputBucket: config.worker.outputBucket,
    verdictTopic: config.worker.verdictTopic,
    deadLetterTopic: config.worker.deadLetterTopic,
    source,
    missingObjectAttempts: config.worker.missingObjectAttempts,
  };
  const handleFrame = createFrameHandler(handlerConfig, { store, decider, onDecided: (verdict) => metrics.recordVerdict(verdict) });
  const deadLetter = createDeadLetterBuilder(handlerConfig);

  const processor = new ExactlyOnceProcessor({
    kafka,
    groupId: config.worker.groupId,
    topic: config.worker.inputTopic,
    logger,
    maxInFlight: config.worker.maxInFlight,
    maxInFlightPerPartition: config.worker.maxInFlightPerPartition,
    partitionsConsumedConcurrently: config.worker.partitionsConsumedConcurrently,
    sessionTimeoutMs: config.worker.sessionTimeoutMs,
    retry: { maxElapsedMs: config.worker.retryForMs },
    handler: async (record: InboundRecord, attempt: number): Promise<OutboundMessage[]> => {
      metrics.inFlight.inc();
      try {
        return await handleFrame(record, attempt);
      } finally {
        metrics.inFlight.dec();
      }
    },
    onPermanentError: (record, error, attempts) => {
      metrics.deadLetters.inc({ code: error.code });
      logger.warn({ code: error.code, partition: record.partition, offset: record.offset, attempts }, `dead-lettered: ${error.message}`);
      return deadLetter(record, error, attempts);
    },
  });

  let consumerStarted = false;
  const ops = await startOpsServer({
    port: config.ops.port,
    host: config.ops.host,
    registry,
    readiness: {
      broker: () => consumerStarted,
      s3: () => store.ping(),
      model: () => true,
    },
  });

  const admin = kafka.admin();
  await admin.connect();
  const pollLag = async (): Promise<void> => {
    const [ends, committed] = await Promise.all([
      admin.fetchTopicOffsets(config.worker.inputTopic),
      admin.fetchOffsets({ groupId: config.worker.groupId, topics: [config.worker.inputTopic] }),
    ]);
    const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    for (const end of ends) {
      const position = Math.max(0, done.get(end.partition) ?? 0);
      metrics.consumerLag.set({ partition: String(end.partition) }, Math.max(0, Number(end.high) - position));
    }
  };
  const lagTimer = setInterval(() => void pollLag().catch(() => undefined), LAG_POLL_MS);

  await processor.start();
  consumerStarted = true;
  logger.info({ groupId: config.worker.groupId, topic: config.worker.inputTopic, opsPort: ops.port }, 'worker started');

  return {
    model: decider.model,
    opsPort: ops.port,
    async stop() {
      clearInterval(lagTimer);
      await processor.stop();
      await admin.disconnect();
      await decider.close();
      await ops.close();
      store.close();
      logger.info('worker stopped');
    },
  };
}

