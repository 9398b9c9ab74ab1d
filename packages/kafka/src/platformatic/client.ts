import type { Logger } from '@loomwatch/observability';
import type { KafkaClient, KafkaClientConfig } from '../ports.js';
import { PlatformaticAdmin, PlatformaticTopicAdmin } from './admin.js';
import { PlatformaticAtLeastOnce } from './at-least-once.js';
import { baseOptions } from './connection.js';
import { PlatformaticExactlyOnce } from './exactly-once.js';
import { PlatformaticPublisher, PlatformaticTransactionalPublisher } from './publishers.js';
import { PlatformaticReader } from './reader.js';

/** The Kafka ports on @platformatic/kafka: the one place its clients are made. */
export function createKafkaClient(config: KafkaClientConfig, logger?: Logger): KafkaClient {
  const base = baseOptions(config);
  return {
    exactlyOnce: (options) =>
      new PlatformaticExactlyOnce(base, {
        ...options,
        groupInstanceId: options.groupInstanceId ?? config.groupInstanceId,
        groupProtocol: options.groupProtocol ?? config.groupProtocol,
      }),
    atLeastOnce: (options) => new PlatformaticAtLeastOnce(base, options),
    publisher: () => new PlatformaticPublisher(base),
    transactionalPublisher: (transactionalId) => new PlatformaticTransactionalPublisher(base, transactionalId),
    reader: new PlatformaticReader(base, logger),
    topics: new PlatformaticTopicAdmin(base),
    offsets: () => new PlatformaticAdmin(base),
  };
}
