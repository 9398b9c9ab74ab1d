export { createKafka, ensureTopics, headersToStrings, type KafkaClientConfig, type TopicSpec } from './client.js';
