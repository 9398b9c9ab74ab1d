import type { FrameEvent, LoomwatchError, Verdict } from '@loomwatch/contracts';
import type { InboundRecord, KafkaClient, OutboundMessage, RecordProcessor } from '@loomwatch/kafka';
import type { Logger } from '@loomwatch/observability';
import type { BlobStore } from '@loomwatch/storage';
import type { PipelineConfig } from './config.js';
import { createDeadLetterHandler } from './dead-letters.js';
import type { FrameRouter } from './model-pool.js';
import { createFrameRecordHandler } from './record-handler.js';
import type { Route } from './routing.js';

interface FrameProcessorOptions {
  /** Tuning, buckets and the dead-letter and shadow topics come from here. */
  pipeline: PipelineConfig;
  client: KafkaClient;
  store: BlobStore;
  router: FrameRouter;
  logger: Logger;
  groupId: string;
  inputTopic: string;
  verdictTopic: string;
  /** Shown in verdicts and dead letters. */
  workerId: string;
  /** CloudEvents source of what it publishes. */
  source: string;
  /** Records it returns false for commit with no outcome (a replay's selection). @defaultValue every record is decided */
  select?: (record: InboundRecord) => boolean;
  onDecided?: (verdict: Verdict, route: Route & { shadowed: boolean }) => void;
  onShadowFailed?: (frame: FrameEvent, error: LoomwatchError) => void;
  onDeadLettered?: (record: InboundRecord, error: LoomwatchError) => void;
  /** How long a fetch waits for new records (and so how long stopping can take). @defaultValue 5000 */
  maxWaitTimeMs?: number;
  /** Frames being decided now, for a gauge. */
  inFlight?: { inc(): void; dec(): void };
  onCommitted?: (records: readonly InboundRecord[], outputs: readonly OutboundMessage[]) => void;
}

/**
 * The consume → decide → publish loop of the live worker and of a replay, on the exactly-once
 * port: each frame record becomes a verdict (plus a shadow verdict) or a dead letter, committed
 * with its offset.
 */
export function createFrameProcessor(options: FrameProcessorOptions): RecordProcessor {
  const { pipeline, logger } = options;
  const handleFrame = createFrameRecordHandler(
    {
      workerId: options.workerId,
      allowedBuckets: pipeline.allowedBuckets,
      outputBucket: pipeline.outputBucket,
      verdictTopic: options.verdictTopic,
      shadowVerdictTopic: pipeline.shadowVerdictTopic,
      source: options.source,
      missingObjectAttempts: pipeline.missingObjectAttempts,
    },
    {
      store: options.store,
      router: options.router,
      ...(options.onDecided === undefined ? {} : { onDecided: options.onDecided }),
      ...(options.onShadowFailed === undefined ? {} : { onShadowFailed: options.onShadowFailed }),
    },
  );
  const deadLetter = createDeadLetterHandler({ workerId: options.workerId, deadLetterTopic: pipeline.deadLetterTopic, source: options.source });
  const select = options.select ?? (() => true);
  return options.client.exactlyOnce({
    groupId: options.groupId,
    topic: options.inputTopic,
    logger,
    maxInFlight: pipeline.maxInFlight,
    maxInFlightPerPartition: pipeline.maxInFlightPerPartition,
    partitionsConsumedConcurrently: pipeline.partitionsConsumedConcurrently,
    sessionTimeoutMs: pipeline.sessionTimeoutMs,
    retry: { maxElapsedMs: pipeline.retryForMs },
    ...(options.maxWaitTimeMs === undefined ? {} : { maxWaitTimeMs: options.maxWaitTimeMs }),
    handler: async (record, attempt) => {
      if (!select(record)) return [];
      options.inFlight?.inc();
      try {
        return await handleFrame(record, attempt);
      } finally {
        options.inFlight?.dec();
      }
    },
    onPermanentError: (record, error, attempts) => {
      options.onDeadLettered?.(record, error);
      logger.warn({ code: error.code, partition: record.partition, offset: record.offset, attempts }, `dead-lettered: ${error.message}`);
      return deadLetter(record, error, attempts);
    },
    onCommitted: (records, outputs) => {
      if (pipeline.logFrames) logCommittedVerdicts(logger, options.verdictTopic, outputs);
      options.onCommitted?.(records, outputs);
    },
  });
}

/** One info line per committed live verdict: what a person watching the log wants to see of each frame. */
function logCommittedVerdicts(logger: Logger, verdictTopic: string, outputs: readonly OutboundMessage[]): void {
  for (const output of outputs) {
    if (output.topic !== verdictTopic) continue;
    const verdict = JSON.parse(output.value.toString('utf8')) as Verdict;
    logger.info(
      {
        frameId: verdict.frameId,
        lineId: verdict.lineId,
        cameraId: verdict.cameraId,
        verdict: verdict.verdict,
        score: Number(verdict.score.toFixed(4)),
        ms: Math.round(verdict.timings['totalMs'] ?? 0),
        version: `${verdict.model.name}@${verdict.model.version}`,
      },
      `${verdict.lineId}/${verdict.cameraId} ${verdict.verdict === 'defect' ? 'DEFECT' : 'ok'} ${verdict.frameId}`,
    );
  }
}
