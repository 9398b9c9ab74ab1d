import { describe, expect, it } from 'vitest';
import { kafkaPortsContract } from './kafka-ports.contract.js';
import { createKafkaClient } from './platformatic/client.js';
import { partitionOf } from './platformatic/publishers.js';
import { useTestKafka } from './testing.js';

const kafka = useTestKafka();

kafkaPortsContract('@platformatic/kafka', () => kafka.infra.kafkaBrokers, () => createKafkaClient({ brokers: kafka.infra.kafkaBrokers, clientId: 'contract-platformatic' }));

describe('partitionOf', () => {
  it('names the partition the publisher puts a key on', async () => {
    const topic = await kafka.topic({ partitions: 3, prefix: 'partition-of' });
    const keys = Array.from({ length: 12 }, (_, i) => `line-${i % 3}:cam-${i}`);
    await kafka.publish(topic, keys.map((key) => ({ key, value: key })));
    const records = await kafka.readCommitted(topic, keys.length);
    expect(records.map((r) => [r.key, r.partition])).toEqual(expect.arrayContaining(keys.map((key) => [key, partitionOf(key, 3)])));
  });
});
