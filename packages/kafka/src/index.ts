export type {
  AtLeastOnceOptions,
  BrokerOffsets,
  ExactlyOnceOptions,
  FollowOptions,
  InboundRecord,
  KafkaClient,
  KafkaClientConfig,
  GroupProtocol,
  OutboundMessage,
  PartitionRange,
  PermanentErrorHandler,
  Publisher,
  ReadOptions,
  RecordHandler,
  RecordProcessor,
  RecordVisitor,
  StopOptions,
  Subscription,
  TopicAdmin,
  TopicReader,
  TopicSpec,
  TopicState,
  Transaction,
  TransactionalPublisher,
  Watermarks,
} from './ports.js';
export { createKafkaClient } from './platformatic/client.js';
export { leaveGroupsOnStop, leavingGroupsOnStop } from './membership.js';
export { applyTopics, planTopic, requireTopics, topicSpec, type ApplyTopicsOptions, type TopicDifference, type TopicOutcome, type TopicPlan } from './provisioning.js';
export { partitionOf } from './platformatic/publishers.js';
