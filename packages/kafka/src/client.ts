import { Kafka, logLevel, type KafkaConfig as KafkaJsConfig, type LogEntry } from 'kafkajs';
import type { Logger } from '@loomwatch/observability';

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

/** kafkajs logs through our pino logger, at warn and above unless debugging. */
function pinoLogCreator(logger: Logger) {
  return () =>
    ({ level, log }: LogEntry): void => {
      const { message, ...rest } = log;
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

/** Creates the topics that do not exist yet; waits for their leaders. */
export async function ensureTopics(kafka: Kafka, topics: readonly TopicSpec[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((spec) => !existing.has(spec.topic));
    if (missing.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((spec) => ({
        topic: spec.topic,
        numPartitions: spec.numPartitions ?? 1,
        replicationFactor: 1,
        configEntries: spec.configEntries ?? [],
      })),
    });
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
