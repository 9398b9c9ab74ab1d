/**
 * Keeps the view current: follows the topics read_committed through the Kafka ports, turns each
 * record into a view event, and measures the workers' lag. Each topic is followed on its own and
 * retried with backoff, so a topic that does not exist yet (drift.v1 before its monitor runs)
 * leaves only its part of the page empty.
 */
import { Alert, DeadLetter, Deployment, DriftEvent, Feedback, LoomwatchError, RetrainRequest, Verdict, decodeMessage, isRetrainKey, toLoomwatchError } from '@loomwatch/contracts';
import { backoffDelay } from '@loomwatch/concurrency';
import type { BrokerOffsets, InboundRecord, KafkaClient, Subscription } from '@loomwatch/kafka';
import type { Logger } from '@loomwatch/observability';
import type { DashboardMetrics } from './metrics.js';
import type { ReviewBook } from './reviews.js';
import { applyEvent, emptyView, verdictView, type LagView, type ViewEvent, type ViewLimits, type ViewState } from './view.js';

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/** The view and whoever listens to its changes (the event streams). */
export class ViewStore {
  private current: ViewState = emptyView();
  private readonly listeners = new Set<(event: ViewEvent) => void>();

  constructor(readonly limits: ViewLimits) {}

  get state(): ViewState {
    return this.current;
  }

  /** Applies an event; listeners hear of it only when it changed the view. */
  apply(event: ViewEvent): void {
    const next = applyEvent(this.current, event, this.limits);
    if (next === this.current) return;
    this.current = next;
    for (const listener of this.listeners) listener(event);
  }

  subscribe(listener: (event: ViewEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export interface FeedTopics {
  verdicts: string;
  alerts: string;
  deadLetters: string;
  control: string;
  drift: string;
  frames: string;
  feedback: string;
}

/** The topics followed into the view (the frames topic is only measured; the reviews go to the book). */
type ViewTopic = Exclude<keyof FeedTopics, 'frames' | 'feedback'>;
type FollowedTopic = Exclude<keyof FeedTopics, 'frames'>;

/** The view event a record of `kind`'s topic stands for; undefined for records the view ignores. */
export function eventOf(kind: ViewTopic, record: InboundRecord): ViewEvent | undefined {
  switch (kind) {
    case 'verdicts':
      return { type: 'verdict', verdict: verdictView(decodeMessage(Verdict, record.value)) };
    case 'alerts':
      return { type: 'alert', alert: decodeMessage(Alert, record.value) };
    case 'deadLetters': {
      const letter = decodeMessage(DeadLetter, record.value);
      const origin = `${letter.originalTopic}/${letter.originalPartition}@${letter.originalOffset}`;
      return { type: 'dead-letter', code: letter.reason.code, message: letter.reason.message, failedAt: letter.failedAt, origin };
    }
    case 'control':
      // The control topic also carries replay plans, and tombstones of removed keys.
      if (record.value === null || record.key === undefined) return undefined;
      if (record.key.startsWith('deployment:')) return { type: 'deployment', deployment: decodeMessage(Deployment, record.value) };
      if (isRetrainKey(record.key)) return { type: 'retrain', key: record.key, request: decodeMessage(RetrainRequest, record.value) };
      return undefined;
    case 'drift':
      return { type: 'drift', drift: decodeMessage(DriftEvent, record.value) };
  }
}

/** The workers' lag on the frames topic: high watermark minus committed offset, per partition. */
export async function measureLag(offsets: BrokerOffsets, groupId: string, topic: string, now = new Date()): Promise<LagView> {
  const [watermarks, committed] = await Promise.all([offsets.watermarks(topic), offsets.committed(groupId, topic)]);
  const partitions = watermarks
    .map(({ partition, low, high }) => {
      const offset = committed.get(partition);
      return { partition, ...(offset === undefined ? {} : { committed: offset }), high, lag: Math.max(0, high - (offset ?? low)) };
    })
    .sort((a, b) => a.partition - b.partition);
  return { groupId, topic, measuredAt: now.toISOString(), total: partitions.reduce((sum, p) => sum + p.lag, 0), partitions };
}

export interface FeedOptions {
  kafka: KafkaClient;
  offsets: BrokerOffsets;
  topics: FeedTopics;
  store: ViewStore;
  /** Where the reviews on the feedback topic go. */
  reviews: ReviewBook;
  /** Verdicts read back per partition at start, before following from the end. */
  seedVerdictsPerPartition: number;
  lagGroupId: string;
  lagIntervalMs: number;
  metrics: DashboardMetrics;
  logger: Logger;
}

export interface Feed {
  /** Per followed topic: caught up (from its start, or the verdicts from their seed) and following. */
  readiness(): Record<string, boolean>;
  stop(): Promise<void>;
}

/** Starts following every topic and measuring lag; resolves at once (readiness tells when each caught up). */
export function startFeed(options: FeedOptions): Feed {
  const { kafka, store, metrics, logger } = options;
  const ready: Record<string, boolean> = {};
  const subscriptions = new Set<Subscription>();
  let stopped = false;
  const wake = new AbortController();

  const visitor = (kind: FollowedTopic, topic: string) => (record: InboundRecord) => {
    metrics.records.inc({ topic });
    try {
      if (kind === 'feedback') {
        options.reviews.add(decodeMessage(Feedback, record.value));
        return;
      }
      const event = eventOf(kind, record);
      if (event !== undefined) store.apply(event);
    } catch (err) {
      const code = err instanceof LoomwatchError ? err.code : 'INTERNAL';
      metrics.skipped.inc({ topic, code });
      logger.warn({ topic, partition: record.partition, offset: record.offset, code }, `skipped a record that does not decode: ${toLoomwatchError(err).message}`);
    }
  };

  /**
   * Follows `topic` until it works (or the feed stops), with backoff between tries. When the follow
   * later fails (the subscription ends with an error), the topic is not ready until it follows again:
   * the follow starts anew after a backoff that grows with each failure.
   */
  const follow = async (kind: FollowedTopic, from: 'beginning' | 'end', then?: () => Promise<void>, failures = 0): Promise<void> => {
    const topic = options.topics[kind];
    if (failures > 0) await pause(backoffDelay(failures, { initialMs: 1000, maxMs: 30_000 }), wake.signal);
    for (let attempt = 1; !stopped; attempt++) {
      try {
        const subscription = await kafka.reader.follow(topic, visitor(kind, topic), { from });
        if (stopped) {
          await subscription.stop();
          return;
        }
        subscriptions.add(subscription);
        subscription.onFatal((err) => {
          subscriptions.delete(subscription);
          ready[topic] = false;
          if (stopped) return;
          const error = toLoomwatchError(err);
          logger.warn({ topic, code: error.code, failures: failures + 1 }, `following ${topic} failed (${error.message}): not ready until it follows again`);
          void follow(kind, from, then, failures + 1);
        });
        await then?.().catch((err: unknown) => {
          const error = toLoomwatchError(err);
          logger.warn({ topic, code: error.code }, `following ${topic}, but could not read back its last records: ${error.message}`);
        });
        // A failure while reading back leaves it not ready; the next follow sets it.
        ready[topic] = subscription.running;
        logger.info({ topic, from }, 'following');
        return;
      } catch (err) {
        const error = toLoomwatchError(err);
        const delay = backoffDelay(attempt, { initialMs: 1000, maxMs: 30_000 });
        logger.warn({ topic, code: error.code, attempt, retryInMs: delay }, `cannot follow ${topic} yet: ${error.message}`);
        await pause(delay, wake.signal);
      }
    }
  };

  /** The last verdicts already on the topic; the follower from the end (started first) sees anything later, and the view drops what both see. */
  const seedVerdicts = async (): Promise<void> => {
    if (options.seedVerdictsPerPartition === 0) return;
    const topic = options.topics.verdicts;
    const ranges = (await options.offsets.watermarks(topic))
      .map(({ partition, low, high }) => ({ topic, partition, from: Math.max(low, high - options.seedVerdictsPerPartition), to: high }))
      .filter((range) => range.to > range.from);
    if (ranges.length > 0) await kafka.reader.readRanges(ranges, visitor('verdicts', topic), { idleTimeoutMs: 30_000 });
  };

  const topicsOf = ['alerts', 'deadLetters', 'control', 'drift', 'feedback'] as const;
  for (const kind of topicsOf) ready[options.topics[kind]] = false;
  ready[options.topics.verdicts] = false;
  for (const kind of topicsOf) void follow(kind, 'beginning');
  void follow('verdicts', 'end', seedVerdicts);

  const lagLoop = (async () => {
    while (!stopped) {
      try {
        const lag = await measureLag(options.offsets, options.lagGroupId, options.topics.frames);
        metrics.lag.set(lag.total);
        store.apply({ type: 'lag', lag });
      } catch (err) {
        const error = toLoomwatchError(err);
        const previous = store.state.lag;
        store.apply({
          type: 'lag',
          lag: {
            groupId: options.lagGroupId,
            topic: options.topics.frames,
            measuredAt: new Date().toISOString(),
            total: previous?.total ?? 0,
            partitions: previous?.partitions ?? [],
            error: { code: error.code, message: `could not measure the lag: ${error.message}` },
          },
        });
      }
      await pause(options.lagIntervalMs, wake.signal);
    }
  })();

  return {
    readiness: () => ({ ...ready }),
    async stop() {
      stopped = true;
      wake.abort();
      await lagLoop;
      await Promise.all([...subscriptions].map((s) => s.stop()));
    },
  };
}
