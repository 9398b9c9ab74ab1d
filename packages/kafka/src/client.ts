import { Kafka, logLevel, type KafkaConfig as KafkaJsConfig, type LogEntry } from 'kafkajs';
import type { Logger } from '@loomwatch/observability';
import { sleep } from './backoff.js';

export interface KafkaClientConfig {
  brokers: string[];
  clientId: string;
  /** @defaultValue 10000 */
  connectionTimeoutMs?: number;
  /** @defaultValue 30000 */
  requestTimeoutMs?: number;
}

const LEVEL_NAMES: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * Warnings that do not apply to how Loomwatch uses kafkajs. Bounded retries on an idempotent
 * producer: every producer that writes outcomes is transactional, and a send that gives up
 * aborts its transaction (the batch is decided again), so no duplicate is ever committed. The
 * partitioner notice: every Loomwatch producer uses kafkajs 2's default partitioner, so a key
 * always lands on the same partition.
 */
const NOT_APPLICABLE = ['Limiting retries for the idempotent producer may invalidate EoS guarantees', 'KafkaJS v2.0.0 switched default partitioner'];

/** kafkajs logs through our pino logger, at warn and above unless debugging. */
function pinoLogCreator(logger: Logger) {
  return () =>
    ({ level, log }: LogEntry): void => {
      const { message, ...rest } = log;
      if (NOT_APPLICABLE.some((notice) => message.startsWith(notice))) return;
      logger[LEVEL_NAMES[level] ?? 'info']({ kafkajs: rest }, message);
    };
}

/** The one place a kafkajs `Kafka` is made; the rest of the code sees our ports. */
export function createKafka(config: KafkaClientConfig, logger?: Logger): Kafka {
  const options: KafkaJsConfig = {
    clientId: config.clientId,
    brokers: config.brokers,
    connectionTimeout: config.connectionTimeoutMs ?? 10_000,
    requestTimeout: config.requestTimeoutMs ?? 30_000,
    retry: { initialRetryTime: 200, retries: 8 },
    logLevel: logger === undefined ? logLevel.NOTHING : logLevel.WARN,
  };
  if (logger !== undefined) options.logCreator = pinoLogCreator(logger);
  return new Kafka(options);
}

export interface TopicSpec {
  topic: string;
  /** @defaultValue 1 */
  numPartitions?: number;
  configEntries?: { name: string; value: string }[];
}

/** Creates the topics that do not exist yet and waits until every partition has a leader. */
export async function ensureTopics(kafka: Kafka, topics: readonly TopicSpec[], timeoutMs = 30_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((spec) => !existing.has(spec.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map((spec) => ({
          topic: spec.topic,
          numPartitions: spec.numPartitions ?? 1,
          replicationFactor: 1,
          configEntries: spec.configEntries ?? [],
        })),
      });
    }
    // kafkajs's own wait fails on the broker's brief UNKNOWN_TOPIC_OR_PARTITION after a create.
    const names = topics.map((spec) => spec.topic);
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const { topics: described } = await admin.fetchTopicMetadata({ topics: names });
        if (described.every((topic) => topic.partitions.length > 0 && topic.partitions.every((p) => p.leader >= 0))) return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) throw new Error(`topics ${names.join(', ')} have no leader after ${timeoutMs} ms`);
      await sleep(Math.min(500, 25 * attempt));
    }
  } finally {
    await admin.disconnect();
  }
}

/** Kafka header values arrive as Buffers (or arrays of them); this flattens them to strings. */
export function headersToStrings(
  headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = first.toString();
  }
  return out;
}
