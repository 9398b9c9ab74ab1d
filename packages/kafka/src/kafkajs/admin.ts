import type { Admin, Kafka } from 'kafkajs';
import { sleep } from '../backoff.js';
import type { BrokerOffsets, TopicAdmin, TopicSpec, Watermarks } from '../ports.js';

/** Right after a create, or for a group nobody used yet, the broker answers retriable errors for a while. */
async function retrying<T>(call: () => Promise<T>, attempts = 30): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const retriable = typeof err === 'object' && err !== null && 'retriable' in err && err.retriable === true;
      if (!retriable || attempt >= attempts) throw err;
      await sleep(Math.min(1000, 50 * attempt));
    }
  }
}

/** One admin connection, opened on first use. */
export class KafkajsAdmin implements BrokerOffsets {
  private readonly admin: Admin;
  private connecting: Promise<void> | undefined;

  constructor(kafka: Kafka) {
    this.admin = kafka.admin();
  }

  private async connected(): Promise<Admin> {
    await (this.connecting ??= this.admin.connect());
    return this.admin;
  }

  async watermarks(topic: string): Promise<Watermarks[]> {
    const admin = await this.connected();
    const offsets = await retrying(() => admin.fetchTopicOffsets(topic));
    return offsets.map((p) => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) }));
  }

  async offsetsAtTime(topic: string, timeMs: number): Promise<Map<number, number>> {
    const admin = await this.connected();
    const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, timeMs);
    return new Map(offsets.map((p) => [p.partition, Number(p.offset)]));
  }

  async committed(groupId: string, topic: string): Promise<Map<number, number>> {
    const admin = await this.connected();
    const [offsets] = await retrying(() => admin.fetchOffsets({ groupId, topics: [topic] }));
    return new Map((offsets?.partitions ?? []).filter((p) => Number(p.offset) >= 0).map((p) => [p.partition, Number(p.offset)]));
  }

  async setCommitted(groupId: string, topic: string, offsets: ReadonlyMap<number, number>): Promise<void> {
    const admin = await this.connected();
    await admin.setOffsets({ groupId, topic, partitions: [...offsets].map(([partition, offset]) => ({ partition, offset: String(offset) })) });
  }

  async deleteGroup(groupId: string): Promise<void> {
    try {
      const admin = await this.connected();
      await admin.deleteGroups([groupId]);
    } catch {
      // An empty group without offsets expires on its own; deleting it is only tidiness.
    }
  }

  async ensureTopics(topics: readonly TopicSpec[], timeoutMs: number): Promise<void> {
    const admin = await this.connected();
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
  }

  async listTopics(): Promise<string[]> {
    return (await this.connected()).listTopics();
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    if (topics.length > 0) await (await this.connected()).deleteTopics({ topics: [...topics] });
  }

  async close(): Promise<void> {
    if (this.connecting !== undefined) await this.admin.disconnect();
  }
}

/** Topic provisioning: each call opens and closes its own admin connection. */
export class KafkajsTopicAdmin implements TopicAdmin {
  private readonly kafka: Kafka;

  constructor(kafka: Kafka) {
    this.kafka = kafka;
  }

  private async using<T>(work: (admin: KafkajsAdmin) => Promise<T>): Promise<T> {
    const admin = new KafkajsAdmin(this.kafka);
    try {
      return await work(admin);
    } finally {
      await admin.close();
    }
  }

  ensure(topics: readonly TopicSpec[], timeoutMs = 30_000): Promise<void> {
    return this.using((admin) => admin.ensureTopics(topics, timeoutMs));
  }

  list(): Promise<string[]> {
    return this.using((admin) => admin.listTopics());
  }

  delete(topics: readonly string[]): Promise<void> {
    return this.using((admin) => admin.deleteTopics(topics));
  }
}
