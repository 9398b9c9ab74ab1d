/**
 * Topics from their declaration (`@loomwatch/contracts` TOPIC_DECLARATIONS, resolved for a cluster
 * by `topicSpecifications`): what differs between a topic and its specification (`planTopic`,
 * pure), bringing the cluster to it where that is safe (`applyTopics`), and the services'
 * start-up check that their topics exist (`requireTopics`).
 *
 * Safe: creating a missing topic and setting a topic config. Growing partitions only when asked
 * (`growPartitions`): Kafka cannot shrink a topic, and growing moves some keys to another
 * partition, so a camera's messages from before and after could be read out of order. Replication
 * is never changed here: that is a partition reassignment (`kafka-reassign-partitions.sh`).
 */
import { LoomwatchError, type TopicSpecification } from '@loomwatch/contracts';
import type { TopicAdmin, TopicSpec, TopicState } from './ports.js';

/** A specification as the port creates it. */
export function topicSpec(specification: TopicSpecification): TopicSpec {
  return {
    topic: specification.topic,
    numPartitions: specification.partitions,
    replicationFactor: specification.replicationFactor,
    configEntries: Object.entries(specification.configs).map(([name, value]) => ({ name, value })),
  };
}

/** One way a topic differs from its specification, and how it can be brought back. */
export interface TopicDifference {
  /** `partitions`, `replicationFactor`, or a topic config's name (`retention.ms`…). */
  field: string;
  declared: string;
  actual: string;
  /** `alter`: a config apply sets; `grow`: partitions apply adds when asked; `manual`: apply leaves it, `hint` says what to do. */
  fix: 'alter' | 'grow' | 'manual';
  hint?: string;
}

export interface TopicPlan {
  topic: string;
  specification: TopicSpecification;
  /** Absent: the topic does not exist. */
  state: TopicState | undefined;
  differences: TopicDifference[];
}

/** What differs between a topic as it stands and its specification. Pure. */
export function planTopic(specification: TopicSpecification, state: TopicState | undefined, options: { growPartitions?: boolean } = {}): TopicPlan {
  const plan: TopicPlan = { topic: specification.topic, specification, state, differences: [] };
  if (state === undefined) return plan;
  const differ = (field: string, declared: string | number, actual: string | number, fix: TopicDifference['fix'], hint?: string): void => {
    plan.differences.push({ field, declared: String(declared), actual: String(actual), fix, ...(hint === undefined ? {} : { hint }) });
  };
  if (state.partitions < specification.partitions) {
    if (options.growPartitions === true) differ('partitions', specification.partitions, state.partitions, 'grow');
    else differ('partitions', specification.partitions, state.partitions, 'manual', 'grow it with --grow-partitions (some keys move to another partition: a camera’s messages from before and after may be read out of order)');
  } else if (state.partitions > specification.partitions) {
    differ('partitions', specification.partitions, state.partitions, 'manual', 'Kafka cannot shrink a topic: declare the partitions it has (--partitions) or recreate it');
  }
  if (state.replicationFactor !== specification.replicationFactor) {
    differ('replicationFactor', specification.replicationFactor, state.replicationFactor, 'manual', 'reassign its partitions (kafka-reassign-partitions.sh), or run with the replication of this cluster (--profile, --replication-factor)');
  }
  for (const [name, declared] of Object.entries(specification.configs)) {
    const actual = state.configs[name];
    if (actual === declared) continue;
    // More in-sync replicas than the topic has would refuse every acks=all write.
    if (name === 'min.insync.replicas' && Number(declared) > state.replicationFactor) {
      differ(name, declared, actual ?? '(unset)', 'manual', `not set while the topic has ${state.replicationFactor} replica(s): it would refuse every write; fix the replication first`);
    } else {
      differ(name, declared, actual ?? '(unset)', 'alter');
    }
  }
  return plan;
}

/** What `applyTopics` did (or, checking, found) for one topic. */
export interface TopicOutcome {
  topic: string;
  /**
   * `created`, `altered` (configs set, partitions grown), `ok` (as declared), `missing` (checking only),
   * `drift`: differences remain (checking: any; applying: those it may not fix).
   */
  status: 'created' | 'altered' | 'ok' | 'missing' | 'drift';
  specification: TopicSpecification;
  state: TopicState | undefined;
  /** Every difference found before any change. */
  differences: TopicDifference[];
  /** The differences still there after the apply. */
  remaining: TopicDifference[];
}

export interface ApplyTopicsOptions {
  /** Change nothing: report what differs. @defaultValue false */
  check?: boolean;
  /** Grow a topic with fewer partitions than declared. @defaultValue false */
  growPartitions?: boolean;
  /** Called as each topic is done, in declaration order (progress). */
  onTopic?: (outcome: TopicOutcome) => void;
}

/**
 * Brings the cluster to the specifications where that is safe, or (`check`) only reports. Refuses
 * a replication factor above the number of brokers before touching anything.
 */
export async function applyTopics(admin: TopicAdmin, specifications: readonly TopicSpecification[], options: ApplyTopicsOptions = {}): Promise<TopicOutcome[]> {
  const check = options.check ?? false;
  if (!check) {
    const brokers = await admin.brokerCount();
    const needed = Math.max(...specifications.map((spec) => spec.replicationFactor));
    if (needed > brokers) {
      throw new LoomwatchError(
        'CONFIG_INVALID',
        `replication factor ${needed} needs ${needed} brokers, the cluster has ${brokers}: on a one-broker cluster (deploy/local, compose, a dev cluster) use --profile dev, else --replication-factor ${brokers}`,
      );
    }
  }
  const states = await admin.describe(specifications.map((spec) => spec.topic));
  const outcomes: TopicOutcome[] = [];
  for (const specification of specifications) {
    const plan = planTopic(specification, states.get(specification.topic), { growPartitions: options.growPartitions ?? false });
    const outcome = check ? checked(plan) : await applied(admin, plan);
    outcomes.push(outcome);
    options.onTopic?.(outcome);
  }
  return outcomes;
}

function checked(plan: TopicPlan): TopicOutcome {
  const status = plan.state === undefined ? 'missing' : plan.differences.length > 0 ? 'drift' : 'ok';
  return { topic: plan.topic, status, specification: plan.specification, state: plan.state, differences: plan.differences, remaining: plan.differences };
}

async function applied(admin: TopicAdmin, plan: TopicPlan): Promise<TopicOutcome> {
  const { specification } = plan;
  const base = { topic: plan.topic, specification, state: plan.state, differences: plan.differences };
  if (plan.state === undefined) {
    await admin.ensure([topicSpec(specification)]);
    return { ...base, status: 'created', remaining: [] };
  }
  const alter = plan.differences.filter((difference) => difference.fix === 'alter');
  if (alter.length > 0) await admin.alterConfigs(plan.topic, Object.fromEntries(alter.map((difference) => [difference.field, difference.declared])));
  if (plan.differences.some((difference) => difference.fix === 'grow')) await admin.grow(plan.topic, specification.partitions);
  const remaining = plan.differences.filter((difference) => difference.fix === 'manual');
  const status = remaining.length > 0 ? 'drift' : plan.differences.length > 0 ? 'altered' : 'ok';
  return { ...base, status, remaining };
}

/**
 * The start-up check of a service: every topic it reads or writes exists. Services never create
 * the declared topics (replication and partitions are the cluster's, set by `loomwatch topics
 * apply`); a missing one is a one-line CONFIG_INVALID naming the command.
 */
export async function requireTopics(admin: TopicAdmin, topics: readonly string[]): Promise<void> {
  const listed = new Set(await admin.list());
  const missing = [...new Set(topics)].filter((topic) => !listed.has(topic));
  if (missing.length === 0) return;
  throw new LoomwatchError(
    'CONFIG_INVALID',
    `topic${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist (or this principal may not describe ${missing.length === 1 ? 'it' : 'them'}): ` +
      'create the topics with `loomwatch topics apply` (in Kubernetes the loomwatch-topics Job runs it; locally `loomwatch topics apply --profile dev`), or point the service at topics that exist',
    { details: { missing } },
  );
}
