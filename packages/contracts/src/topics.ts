/** Kafka topic names. A breaking change to a message means a new `v2` topic run side by side. */
export const TOPICS = {
  frames: 'frames.v1',
  verdicts: 'verdicts.v1',
  deadLetters: 'frames.dlq.v1',
  alerts: 'alerts.v1',
  /** Shadow versions' verdicts: same schema as verdicts.v1, never read by alerting. */
  shadowVerdicts: 'verdicts.shadow.v1',
  /** The control plane: model deployments and replay plans (compacted, one partition). */
  control: 'control.v1',
  /** Webhook messages whose endpoint's last try failed. */
  webhookDeadLetters: 'alerts.webhooks.dlq.v1',
  /** Drift judgements: windows of live frames against the model card's reference profile. */
  drift: 'drift.v1',
  /** Operators' reviews of verdicts: the labelled truth the quality measures and data sets come from. */
  feedback: 'feedback.v1',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

const DAY_MS = 86_400_000;

/**
 * How one topic is made. The one declaration of every topic: `loomwatch topics apply` creates and
 * checks the cluster from it, the AsyncAPI document and the Kubernetes Job derive from it, and the
 * services only check that their topics exist. Replication is not here: it belongs to the cluster
 * (`TOPIC_PROFILES`).
 */
export interface TopicDeclaration {
  name: TopicName;
  /**
   * Partitions bound the consumers of a group (one partition feeds at most one member). Every
   * keyed topic shares the `lineId:cameraId` key, so a topic may have fewer partitions than
   * frames.v1 without reordering a camera's messages.
   */
  partitions: number;
  /** `delete`: records older than `retentionMs` go; `compact`: the latest record of each key stays. */
  cleanupPolicy: 'delete' | 'compact';
  /** How long records are kept (`retention.ms`); absent for a compacted topic. */
  retentionMs?: number;
}

/**
 * Every topic Loomwatch publishes. Frames, verdicts and dead letters are kept 30 days, as long as a
 * plant keeps the frames' images (docs/sizing.md): a replay reads frames.v1 by time range, and a
 * report compares verdicts of the same frames.
 */
export const TOPIC_DECLARATIONS: readonly TopicDeclaration[] = [
  { name: TOPICS.frames, partitions: 8, cleanupPolicy: 'delete', retentionMs: 30 * DAY_MS },
  { name: TOPICS.verdicts, partitions: 4, cleanupPolicy: 'delete', retentionMs: 30 * DAY_MS },
  { name: TOPICS.shadowVerdicts, partitions: 4, cleanupPolicy: 'delete', retentionMs: 30 * DAY_MS },
  { name: TOPICS.deadLetters, partitions: 1, cleanupPolicy: 'delete', retentionMs: 30 * DAY_MS },
  { name: TOPICS.alerts, partitions: 4, cleanupPolicy: 'delete', retentionMs: 30 * DAY_MS },
  { name: TOPICS.webhookDeadLetters, partitions: 1, cleanupPolicy: 'delete', retentionMs: 30 * DAY_MS },
  { name: TOPICS.drift, partitions: 4, cleanupPolicy: 'delete', retentionMs: 30 * DAY_MS },
  // Reviews are labelled data: kept until a plant deletes them (retention.ms -1).
  { name: TOPICS.feedback, partitions: 4, cleanupPolicy: 'delete', retentionMs: -1 },
  // One partition: one order for every deployment and plan; compacted: the latest value of a key is in force.
  { name: TOPICS.control, partitions: 1, cleanupPolicy: 'compact' },
];

/** What a cluster gives every topic: copies of each partition, and how many must have a write before it counts. */
export interface ReplicationSettings {
  replicationFactor: number;
  /** `min.insync.replicas`: with acks=all, a write fails (rather than risk loss) when fewer replicas are in sync. */
  minInsyncReplicas: number;
}

/**
 * `production`: three brokers, a write on two (one broker may be down without stopping the line);
 * `dev`: the one broker of deploy/local, a development cluster or compose.
 */
export const TOPIC_PROFILES = {
  production: { replicationFactor: 3, minInsyncReplicas: 2 },
  dev: { replicationFactor: 1, minInsyncReplicas: 1 },
} as const satisfies Record<string, ReplicationSettings>;

export type TopicProfile = keyof typeof TOPIC_PROFILES;

/** A declared topic as it should stand on one cluster: its partitions, replication and topic configs (Kafka's names). */
export interface TopicSpecification {
  topic: string;
  partitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

export interface TopicSpecificationOptions {
  replication: ReplicationSettings;
  /** Partitions per topic name that differ from the declaration (frames.v1: at least the most workers). */
  partitions?: Readonly<Record<string, number>>;
  /** Put before every name (a second installation on a shared cluster, or a test). @defaultValue '' */
  prefix?: string;
}

/** The declaration resolved for one cluster. */
export function topicSpecifications(options: TopicSpecificationOptions, declarations: readonly TopicDeclaration[] = TOPIC_DECLARATIONS): TopicSpecification[] {
  const { replication, partitions = {}, prefix = '' } = options;
  return declarations.map((declared) => ({
    topic: `${prefix}${declared.name}`,
    partitions: partitions[declared.name] ?? declared.partitions,
    replicationFactor: replication.replicationFactor,
    configs: {
      'cleanup.policy': declared.cleanupPolicy,
      ...(declared.retentionMs === undefined ? {} : { 'retention.ms': String(declared.retentionMs) }),
      'min.insync.replicas': String(replication.minInsyncReplicas),
    },
  }));
}

/** The declaration of a topic by its name. */
export function topicDeclaration(name: TopicName): TopicDeclaration {
  const declared = TOPIC_DECLARATIONS.find((candidate) => candidate.name === name);
  if (declared === undefined) throw new Error(`${name} is not declared in TOPIC_DECLARATIONS`);
  return declared;
}

/** Every message on every topic is keyed `lineId:cameraId`, so a camera's frames stay in order. */
export function messageKey(lineId: string, cameraId: string): string {
  return `${lineId}:${cameraId}`;
}

export function parseMessageKey(key: string): { lineId: string; cameraId: string } | undefined {
  const at = key.indexOf(':');
  if (at <= 0 || at === key.length - 1) return undefined;
  return { lineId: key.slice(0, at), cameraId: key.slice(at + 1) };
}
