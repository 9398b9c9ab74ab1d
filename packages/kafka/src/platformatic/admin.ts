import { Admin, ConfigResourceTypes, IncrementalAlterConfigOperationTypes, ListOffsetTimestamps, findErrorBy, type BaseOptions } from '@platformatic/kafka';
import { sleep } from '@loomwatch/concurrency';
import { brokerError } from './connection.js';
import type { BrokerOffsets, TopicAdmin, TopicSpec, TopicState, Watermarks } from '../ports.js';

/** One admin client, connected on first use; as `BrokerOffsets`, a refused login, a missing ACL or no broker answering comes out typed. */
export class PlatformaticAdmin implements BrokerOffsets {
  private readonly admin: Admin;
  private readonly options: BaseOptions;

  constructor(options: BaseOptions) {
    this.admin = new Admin(options);
    this.options = options;
  }

  private async typed<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (err) {
      throw brokerError(err, this.options);
    }
  }

  async partitionCount(topic: string): Promise<number> {
    const metadata = await this.admin.metadata({ topics: [topic], forceUpdate: true });
    return metadata.topics.get(topic)?.partitionsCount ?? 0;
  }

  private async offsetsAt(topic: string, timestamp: bigint): Promise<Map<number, number>> {
    const count = await this.partitionCount(topic);
    const partitions = Array.from({ length: count }, (_, partitionIndex) => ({ partitionIndex, timestamp }));
    const [listed] = await this.admin.listOffsets({ topics: [{ name: topic, partitions }] });
    return new Map((listed?.partitions ?? []).map((p) => [p.partitionIndex, Number(p.offset)]));
  }

  async watermarks(topic: string): Promise<Watermarks[]> {
    const [low, high] = await this.typed(Promise.all([this.offsetsAt(topic, ListOffsetTimestamps.EARLIEST), this.offsetsAt(topic, ListOffsetTimestamps.LATEST)]));
    return [...high].sort(([a], [b]) => a - b).map(([partition, end]) => ({ partition, low: low.get(partition) ?? 0, high: end }));
  }

  async offsetsAtTime(topic: string, timeMs: number): Promise<Map<number, number>> {
    const [atTime, ends] = await this.typed(Promise.all([this.offsetsAt(topic, BigInt(timeMs)), this.offsetsAt(topic, ListOffsetTimestamps.LATEST)]));
    // The broker answers -1 where no record is that late: the reader starts at the end then.
    return new Map([...atTime].map(([partition, offset]) => [partition, offset >= 0 ? offset : (ends.get(partition) ?? 0)]));
  }

  /**
   * Committed offsets, stable: while a transaction that commits offsets for the group is still
   * open, the broker makes us wait (KIP-447), so an offset a dying owner is about to commit is
   * never missed.
   */
  async committed(groupId: string, topic: string): Promise<Map<number, number>> {
    const groups = await this.typed(this.admin.listConsumerGroupOffsets({ groups: [groupId], requireStable: true }));
    const partitions = groups.flatMap((group) => group.topics).find((entry) => entry.name === topic)?.partitions ?? [];
    return new Map(partitions.filter((p) => p.committedOffset >= 0n).map((p) => [p.partitionIndex, Number(p.committedOffset)]));
  }

  async setCommitted(groupId: string, topic: string, offsets: ReadonlyMap<number, number>): Promise<void> {
    const partitionOffsets = [...offsets].map(([partition, offset]) => ({ partition, offset: BigInt(offset) }));
    await this.typed(this.admin.alterConsumerGroupOffsets({ groupId, topics: [{ name: topic, partitionOffsets }] }));
  }

  async deleteGroup(groupId: string): Promise<void> {
    try {
      await this.admin.deleteGroups({ groups: [groupId] });
    } catch {
      // An empty group without offsets expires on its own; deleting it is only tidiness.
    }
  }

  async ensureTopics(topics: readonly TopicSpec[], timeoutMs: number): Promise<void> {
    const existing = new Set(await this.admin.listTopics());
    for (const spec of topics.filter((candidate) => !existing.has(candidate.topic))) {
      try {
        await this.admin.createTopics({
          topics: [spec.topic],
          partitions: spec.numPartitions ?? 1,
          // -1: the brokers' default.replication.factor, never a count fixed here.
          replicas: spec.replicationFactor ?? -1,
          configs: (spec.configEntries ?? []).map(({ name, value }) => ({ name, value })),
        });
      } catch (err) {
        // Someone else created it between our list and our create.
        if (findErrorBy(err as Error, 'apiId', 'TOPIC_ALREADY_EXISTS') === null) throw err;
      }
    }
    const names = topics.map((spec) => spec.topic);
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const metadata = await this.admin.metadata({ topics: names, forceUpdate: true });
        const ready = names.every((name) => {
          const topic = metadata.topics.get(name);
          return topic !== undefined && topic.partitions.length > 0 && topic.partitions.every((p) => p.leader >= 0);
        });
        if (ready) return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) throw new Error(`topics ${names.join(', ')} have no leader after ${timeoutMs} ms`);
      await sleep(Math.min(500, 25 * attempt));
    }
  }

  async describeTopics(topics: readonly string[]): Promise<Map<string, TopicState>> {
    const listed = new Set(await this.admin.listTopics());
    const existing = topics.filter((topic) => listed.has(topic));
    if (existing.length === 0) return new Map();
    const [metadata, described] = await Promise.all([
      this.admin.metadata({ topics: existing, forceUpdate: true }),
      this.admin.describeConfigs({ resources: existing.map((resourceName) => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName })) }),
    ]);
    const configsOf = new Map(described.map((resource) => [resource.resourceName, Object.fromEntries(resource.configs.flatMap((c): [string, string][] => (typeof c.value === 'string' ? [[c.name, c.value]] : [])))]));
    const states = new Map<string, TopicState>();
    for (const topic of existing) {
      const held = metadata.topics.get(topic);
      if (held === undefined) continue;
      states.set(topic, {
        topic,
        partitions: held.partitionsCount,
        replicationFactor: Math.min(...held.partitions.map((partition) => partition.replicas.length)),
        configs: configsOf.get(topic) ?? {},
      });
    }
    return states;
  }

  async alterTopicConfigs(topic: string, configs: Readonly<Record<string, string>>): Promise<void> {
    const changes = Object.entries(configs).map(([name, value]) => ({ name, value, configOperation: IncrementalAlterConfigOperationTypes.SET }));
    await this.admin.incrementalAlterConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configs: changes }] });
  }

  async growTopic(topic: string, partitions: number): Promise<void> {
    await this.admin.createPartitions({ topics: [{ name: topic, count: partitions }] });
  }

  async brokerCount(): Promise<number> {
    return (await this.admin.metadata({ topics: [], forceUpdate: true })).brokers.size;
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    if (topics.length > 0) await this.admin.deleteTopics({ topics: [...topics] });
  }

  async close(): Promise<void> {
    await this.admin.close();
  }
}

/** Runs `work` on a short-lived admin client; a refused login, a missing ACL or no broker answering comes out typed. */
export async function withAdmin<T>(options: BaseOptions, work: (admin: PlatformaticAdmin) => Promise<T>): Promise<T> {
  const admin = new PlatformaticAdmin(options);
  try {
    return await work(admin);
  } catch (err) {
    throw brokerError(err, options);
  } finally {
    // A close that fails (the broker is gone) must not hide why the work failed.
    await admin.close().catch(() => undefined);
  }
}

/** Topic provisioning: each call opens and closes its own admin client. */
export class PlatformaticTopicAdmin implements TopicAdmin {
  private readonly options: BaseOptions;

  constructor(options: BaseOptions) {
    this.options = options;
  }

  private using<T>(work: (admin: PlatformaticAdmin) => Promise<T>): Promise<T> {
    return withAdmin(this.options, work);
  }

  ensure(topics: readonly TopicSpec[], timeoutMs = 30_000): Promise<void> {
    return this.using((admin) => admin.ensureTopics(topics, timeoutMs));
  }

  describe(topics: readonly string[]): Promise<Map<string, TopicState>> {
    return this.using((admin) => admin.describeTopics(topics));
  }

  alterConfigs(topic: string, configs: Readonly<Record<string, string>>): Promise<void> {
    return this.using((admin) => admin.alterTopicConfigs(topic, configs));
  }

  grow(topic: string, partitions: number): Promise<void> {
    return this.using((admin) => admin.growTopic(topic, partitions));
  }

  brokerCount(): Promise<number> {
    return this.using((admin) => admin.brokerCount());
  }

  list(): Promise<string[]> {
    return this.using((admin) => admin.listTopics());
  }

  delete(topics: readonly string[]): Promise<void> {
    return this.using((admin) => admin.deleteTopics(topics));
  }
}
