export { createKafka, ensureTopics, headersToStrings, type KafkaClientConfig, type TopicSpec } from './client.js';
export {
  ExactlyOnceProcessor,
  type ExactlyOnceOptions,
  type PermanentErrorHandler,
  type RecordHandler,
} from './exactly-once.js';
export { toInboundRecord, type InboundRecord, type OutboundMessage } from './records.js';
export { backoffDelay, sleep, type BackoffOptions } from './backoff.js';
export { Semaphore } from './semaphore.js';
export { followTopic, type FollowOptions, type TopicFollower } from './topic-follower.js';
