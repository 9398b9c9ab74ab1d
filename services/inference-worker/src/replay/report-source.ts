/**
 * Reads the report's three topics from the beginning up to where they ended when the report
 * started (read_committed), with a throw-away consumer group that never commits.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { FrameEvent, LoomwatchError, Verdict, decodeMessage, toLoomwatchError } from '@loomwatch/contracts';
import { FrameCatalog, LatestVerdicts } from './report-join.js';
import { toFrameFacts, toVerdictPoint } from './report-model.js';
import type { ReportInputs } from './report-figures.js';

export interface ReportTopics {
  candidate: string;
  baseline: string;
  frames: string;
}

/** Which command-line option names each topic, for error messages. */
const TOPIC_OPTIONS: Record<keyof ReportTopics, string> = {
  candidate: '--replay-topic',
  baseline: '--baseline',
  frames: '--frames-topic',
};

export interface ReadOptions {
  /**
   * Give up when no partition moves for this long, e.g. behind a transaction left open.
   * @defaultValue 120000 — longer than a producer's default transaction timeout (60 s), after which the broker aborts it.
   */
  idleTimeoutMs?: number;
  /** Told about each invalid message (they are counted and skipped). */
  warn?: (line: string) => void;
}

type RecordHandler = (value: Buffer | null, where: string) => void;

async function endOffsets(kafka: Kafka, topics: ReportTopics): Promise<Map<string, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    for (const [role, topic] of Object.entries(topics) as [keyof ReportTopics, string][]) {
      if (!existing.has(topic)) {
        throw new LoomwatchError('REPLAY_INVALID', `topic ${topic} (${TOPIC_OPTIONS[role]}) does not exist: check the name and KAFKA_BROKERS`);
      }
    }
    const ends = new Map<string, bigint>();
    for (const topic of [topics.candidate, topics.baseline, topics.frames]) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        if (BigInt(p.high) > BigInt(p.low)) ends.set(`${topic}/${p.partition}`, BigInt(p.high));
      }
    }
    return ends;
  } finally {
    await admin.disconnect();
  }
}

/** Hands every committed record below the start-time end offsets to its topic's handler. */
async function readToEnd(kafka: Kafka, handlers: ReadonlyMap<string, RecordHandler>, ends: Map<string, bigint>, idleTimeoutMs: number): Promise<void> {
  if (ends.size === 0) return;
  const groupId = `loomwatch-replay-report-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false });
  const pending = new Map(ends);
  let lastProgress = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...handlers.keys()], fromBeginning: true });
    const done = new Promise<void>((resolve, reject) => {
      // END_BATCH_PROCESS also fires for batches of aborted records and transaction markers,
      // which eachBatch never sees; a partition ending in those still counts as read.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        lastProgress = Date.now();
        const id = `${payload.topic}/${payload.partition}`;
        const end = pending.get(id);
        if (end !== undefined && BigInt(payload.lastOffset) + 1n >= end) pending.delete(id);
        if (pending.size === 0) resolve();
      });
      timer = setInterval(() => {
        if (Date.now() - lastProgress < idleTimeoutMs) return;
        const stuck = [...pending.entries()].map(([id, end]) => `${id} (end ${end})`).join(', ');
        reject(
          new LoomwatchError('BROKER_UNAVAILABLE', `no progress for ${idleTimeoutMs} ms reading ${stuck}: is a transaction still open, or the broker down?`, {
            retryable: true,
          }),
        );
      }, Math.min(1000, idleTimeoutMs));
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        const end = ends.get(`${batch.topic}/${batch.partition}`) ?? 0n;
        const handle = handlers.get(batch.topic);
        for (const message of batch.messages) {
          if (BigInt(message.offset) < end) handle?.(message.value, `${batch.topic}[${batch.partition}]@${message.offset}`);
        }
        return Promise.resolve();
      },
    });
    await done;
  } finally {
    clearInterval(timer);
    await consumer.disconnect();
    await deleteGroup(kafka, groupId);
  }
}

/** The group never committed, so nothing is lost; deleting it just keeps the group list tidy. */
async function deleteGroup(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([groupId]);
  } catch {
    // best effort: an empty group also expires on its own
  } finally {
    await admin.disconnect();
  }
}

export async function readReportInputs(kafka: Kafka, topics: ReportTopics, options: ReadOptions = {}): Promise<Omit<ReportInputs, 'generatedAt'>> {
  const candidate = { topic: topics.candidate, verdicts: new LatestVerdicts(), invalid: 0 };
  const baseline = { topic: topics.baseline, verdicts: new LatestVerdicts(), invalid: 0 };
  const frames = { topic: topics.frames, catalog: new FrameCatalog(), invalid: 0 };
  const skip = (stream: { invalid: number }, where: string, err: unknown): void => {
    stream.invalid += 1;
    options.warn?.(`${where}: skipped, ${toLoomwatchError(err).message}`);
  };
  const verdictHandler =
    (stream: typeof candidate): RecordHandler =>
    (value, where) => {
      try {
        stream.verdicts.add(toVerdictPoint(decodeMessage(Verdict, value)));
      } catch (err) {
        skip(stream, where, err);
      }
    };
  const handlers = new Map<string, RecordHandler>([
    [topics.candidate, verdictHandler(candidate)],
    [topics.baseline, verdictHandler(baseline)],
    [
      topics.frames,
      (value, where) => {
        try {
          const frame = decodeMessage(FrameEvent, value);
          frames.catalog.add(frame.frameId, toFrameFacts(frame));
        } catch (err) {
          skip(frames, where, err);
        }
      },
    ],
  ]);
  const ends = await endOffsets(kafka, topics);
  await readToEnd(kafka, handlers, ends, options.idleTimeoutMs ?? 120_000);
  return { candidate, baseline, frames };
}
