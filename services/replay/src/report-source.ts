/**
 * Reads the report's three topics (four with a feedback topic) from the beginning up to where they ended when the report
 * started (read_committed, the reader port's `readToEnd`). When no partition moves for the
 * reader's idle timeout (120 s, past a transaction's 60 s timeout) — a transaction left open, the
 * broker down — the read fails with BROKER_UNAVAILABLE instead of waiting for ever.
 */
import { Feedback, FrameEvent, LoomwatchError, Verdict, decodeMessage, toLoomwatchError, type FeedbackLabel } from '@loomwatch/contracts';
import type { KafkaClient } from '@loomwatch/kafka';
import { currentLabels } from '@loomwatch/quality';
import { FrameCatalog, LatestVerdicts } from './report-join.js';
import { toFrameFacts, toVerdictPoint } from './report-model.js';
import type { ReportInputs } from './report-figures.js';

interface ReportTopics {
  candidate: string;
  baseline: string;
  frames: string;
  /** The reviews; absent: not read. */
  feedback?: string;
}

/** Which command-line option names each topic, for error messages. */
const TOPIC_OPTIONS: Record<keyof ReportTopics, string> = {
  candidate: '--replay-topic',
  baseline: '--baseline',
  frames: '--frames-topic',
  feedback: '--feedback-topic',
};

interface ReportReadOptions {
  /** Told about each invalid message (they are counted and skipped). */
  warn?: (line: string) => void;
}

type RecordHandler = (value: Buffer | null, where: string) => void;

async function checkTopicsExist(client: KafkaClient, topics: ReportTopics): Promise<void> {
  const existing = new Set(await client.topics.list());
  for (const [role, topic] of Object.entries(topics) as [keyof ReportTopics, string | undefined][]) {
    if (topic !== undefined && !existing.has(topic)) {
      throw new LoomwatchError('REPLAY_INVALID', `topic ${topic} (${TOPIC_OPTIONS[role]}) does not exist: check the name and KAFKA_BROKERS`);
    }
  }
}

export async function readReportInputs(client: KafkaClient, topics: ReportTopics, options: ReportReadOptions = {}): Promise<Omit<ReportInputs, 'generatedAt'>> {
  const candidate = { topic: topics.candidate, verdicts: new LatestVerdicts(), invalid: 0 };
  const baseline = { topic: topics.baseline, verdicts: new LatestVerdicts(), invalid: 0 };
  const frames = { topic: topics.frames, catalog: new FrameCatalog(), invalid: 0 };
  const reviews = { records: [] as Feedback[], invalid: 0 };
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
  if (topics.feedback !== undefined) {
    handlers.set(topics.feedback, (value, where) => {
      try {
        reviews.records.push(decodeMessage(Feedback, value));
      } catch (err) {
        skip(reviews, where, err);
      }
    });
  }
  await checkTopicsExist(client, topics);
  await client.reader.readToEnd(
    [...handlers.keys()],
    (record) => handlers.get(record.topic)?.(record.value, `${record.topic}[${record.partition}]@${record.offset}`),
  );
  if (topics.feedback === undefined) return { candidate, baseline, frames };
  const labels = new Map<string, FeedbackLabel>([...currentLabels(reviews.records)].map(([frameId, label]) => [frameId, label.label]));
  return { candidate, baseline, frames, feedback: { topic: topics.feedback, labels, messages: reviews.records.length, invalid: reviews.invalid } };
}
