import { Kafka, logLevel, type KafkaConfig as KafkaJsConfig, type LogEntry } from 'kafkajs';
import type { Logger } from '@loomwatch/observability';
import type { KafkaClient, KafkaClientConfig } from '../ports.js';
import { KafkajsAdmin, KafkajsTopicAdmin } from './admin.js';
import { KafkajsAtLeastOnce } from './at-least-once.js';
import { KafkajsExactlyOnce } from './exactly-once.js';
import { KafkajsPublisher, KafkajsTransactionalPublisher } from './publishers.js';
import { KafkajsReader } from './reader.js';

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

function createKafka(config: KafkaClientConfig, logger: Logger | undefined): Kafka {
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

/** The Kafka ports on kafkajs: the one place a kafkajs client is made. Its logs go to `logger` (warn and up). */
export function createKafkaClient(config: KafkaClientConfig, logger?: Logger): KafkaClient {
  const kafka = createKafka(config, logger);
  return {
    exactlyOnce: (options) => new KafkajsExactlyOnce(kafka, options),
    atLeastOnce: (options) => new KafkajsAtLeastOnce(kafka, options),
    publisher: () => new KafkajsPublisher(kafka),
    transactionalPublisher: (transactionalId) => new KafkajsTransactionalPublisher(kafka, transactionalId),
    reader: new KafkajsReader(kafka, logger),
    topics: new KafkajsTopicAdmin(kafka),
    offsets: () => new KafkajsAdmin(kafka),
  };
}
