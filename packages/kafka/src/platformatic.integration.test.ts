import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kafkaPortsContract, type MemberSpawner } from './kafka-ports.contract.js';
import { createKafkaClient } from './platformatic/client.js';
import { partitionOf } from './platformatic/publishers.js';
import { useTestKafka } from './testing.js';

const kafka = useTestKafka();

/** member-process.ts under tsx, on the workspace sources, as the tests run them. */
const spawnMember: MemberSpawner = (settings) =>
  spawn(process.execPath, ['--conditions=@loomwatch/source', '--import', 'tsx', join(import.meta.dirname, 'member-process.ts')], {
    cwd: join(import.meta.dirname, '../../..'),
    env: {
      ...process.env,
      MEMBER_BROKERS: kafka.infra.kafkaBrokers.join(','),
      MEMBER_GROUP: settings.group,
      MEMBER_INPUT: settings.input,
      MEMBER_OUTPUT: settings.output,
      MEMBER_INSTANCE_ID: settings.instanceId ?? '',
      MEMBER_SESSION_TIMEOUT_MS: String(settings.sessionTimeoutMs),
      MEMBER_GROUP_PROTOCOL: settings.groupProtocol ?? 'classic',
      MEMBER_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });

kafkaPortsContract(
  '@platformatic/kafka',
  () => kafka.infra.kafkaBrokers,
  () => createKafkaClient({ brokers: kafka.infra.kafkaBrokers, clientId: 'contract-platformatic' }),
  spawnMember,
);

describe('partitionOf', () => {
  it('names the partition the publisher puts a key on', async () => {
    const topic = await kafka.topic({ partitions: 3, prefix: 'partition-of' });
    const keys = Array.from({ length: 12 }, (_, i) => `line-${i % 3}:cam-${i}`);
    await kafka.publish(topic, keys.map((key) => ({ key, value: key })));
    const records = await kafka.readCommitted(topic, keys.length);
    expect(records.map((r) => [r.key, r.partition])).toEqual(expect.arrayContaining(keys.map((key) => [key, partitionOf(key, 3)])));
  });
});
