/**
 * What the exactly-once processor stands on (KIP-447): the group coordinator refuses offsets a
 * transaction commits in the name of a group generation that has moved on — so a member that lost
 * its partitions while it was frozen cannot commit what it decided meanwhile. Under KIP-848 the
 * generation is the member epoch.
 */
import { randomUUID } from 'node:crypto';
import { Consumer, FetchIsolationLevels, MessagesStreamModes, Producer, findErrorBy, type Message } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { useTestKafka } from '../testing.js';
import { sleep } from '@loomwatch/concurrency';
import { NEW_PRODUCER, baseOptions, followsConsumerGroupHeartbeats } from './connection.js';

const kafka = useTestKafka();

describe('KIP-447 on the real broker', () => {
  it('refuses the offset of a record fetched under a generation the group has left, and takes it under the current one', async () => {
    const topic = await kafka.topic({ prefix: 'fencing' });
    await kafka.publish(topic, [{ key: 'k', value: 'frame-1' }]);
    const base = baseOptions({ brokers: kafka.infra.kafkaBrokers, clientId: 'fencing' });
    const groupId = kafka.group('fencing');
    const member = (): Consumer => new Consumer({ ...base, groupId, isolationLevel: FetchIsolationLevels.READ_COMMITTED, autocommit: false, heartbeatInterval: 500 });

    const first = member();
    const stream = await first.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false });
    const fetched = await new Promise<Message>((resolve) => stream.once('data', resolve));
    const fetchedUnder = (fetched.metadata['consumer'] as { generationId: number }).generationId;

    // Another member joins: the group rebalances and the first member rejoins under a newer generation.
    const second = member();
    const secondStream = await second.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false });
    for (let i = 0; i < 100 && first.generationId === fetchedUnder; i++) await sleep(100);
    expect(first.generationId).toBeGreaterThan(fetchedUnder);

    const producer = new Producer({ ...base, idempotent: true, transactionalId: `fencing-${randomUUID()}` });
    try {
      const stale = await producer.beginTransaction(NEW_PRODUCER);
      await stale.addConsumer(first);
      const refused = await stale.addOffset(fetched).then(
        () => undefined,
        (err: unknown) => err as Error,
      );
      expect(findErrorBy(refused, 'apiId', 'ILLEGAL_GENERATION')).not.toBeNull();
      await stale.abort();

      const current = { groupId, generationId: first.generationId, memberId: first.memberId ?? '', coordinatorId: first.coordinatorId ?? -1 };
      const fresh = await producer.beginTransaction(NEW_PRODUCER);
      await fresh.addConsumer(first);
      await fresh.addOffset({ ...fetched, metadata: { consumer: current } });
      await fresh.commit();
      const offsets = kafka.client.offsets();
      expect(await offsets.committed(groupId, topic)).toEqual(new Map([[0, 1]]));
      await offsets.close();
    } finally {
      await producer.close();
      await Promise.all([stream.close(), secondStream.close()]);
      await Promise.all([first.close(true), second.close(true)]);
    }
  });
});

describe('KIP-848 on the real broker', () => {
  it('refuses offsets a transaction commits under a member epoch that has moved on, and takes them under the current one — whichever partitions the member holds', async () => {
    const topic = await kafka.topic({ prefix: 'fencing-848', partitions: 2 });
    const base = baseOptions({ brokers: kafka.infra.kafkaBrokers, clientId: 'fencing-848' });
    const groupId = kafka.group('fencing-848');
    /** A KIP-848 member and what its heartbeats were answered: the member epoch and its partitions. */
    const member = () => {
      const consumer = new Consumer({ ...base, groupId, groupProtocol: 'consumer', isolationLevel: FetchIsolationLevels.READ_COMMITTED, autocommit: false });
      const seen = { epoch: 0, partitions: [] as number[] };
      followsConsumerGroupHeartbeats(consumer, {
        onAnswer: (answer) => {
          seen.epoch = answer.memberEpoch;
          if (answer.assignment !== null) seen.partitions = answer.assignment.topicPartitions.flatMap((assigned) => assigned.partitions).sort();
        },
        onError: () => undefined,
        leaveEpoch: () => -1,
      });
      return { consumer, seen };
    };
    const first = member();
    const stream = await first.consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false });
    for (let i = 0; i < 200 && first.seen.partitions.length < 2; i++) await sleep(100);
    expect(first.seen.partitions).toEqual([0, 1]);
    const alone = first.seen.epoch;

    // A second member joins: the first is revoked one partition, and its epoch moves on once it acknowledges that.
    const second = member();
    const secondStream = await second.consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false });
    for (let i = 0; i < 300 && (first.seen.epoch === alone || first.seen.partitions.length !== 1); i++) await sleep(100);
    expect([first.seen.epoch > alone, first.seen.partitions.length]).toEqual([true, 1]);
    const given = [0, 1].find((partition) => !first.seen.partitions.includes(partition)) ?? -1;

    const offset = (partition: number, epoch: number): Message =>
      ({ topic, partition, offset: 0n, metadata: { consumer: { groupId, generationId: epoch, memberId: first.consumer.memberId ?? '', coordinatorId: first.consumer.coordinatorId ?? -1 } } }) as unknown as Message;
    const producer = new Producer({ ...base, idempotent: true, transactionalId: `fencing-848-${randomUUID()}` });
    try {
      const stale = await producer.beginTransaction(NEW_PRODUCER);
      await stale.addConsumer(first.consumer);
      const refused = await stale.addOffset(offset(first.seen.partitions[0] ?? -1, alone)).then(
        () => undefined,
        (err: unknown) => err as Error,
      );
      expect(findErrorBy(refused, 'apiId', 'ILLEGAL_GENERATION')).not.toBeNull();
      await stale.abort();

      // Under the current epoch the coordinator takes even the partition the member gave away: it checks
      // the epoch, not the partitions — so the processor must stop covering a partition the moment it is revoked.
      const current = await producer.beginTransaction(NEW_PRODUCER);
      await current.addConsumer(first.consumer);
      await current.addOffset(offset(given, first.seen.epoch));
      await current.commit();
      const offsets = kafka.client.offsets();
      expect(await offsets.committed(groupId, topic)).toEqual(new Map([[given, 1]]));
      await offsets.close();
    } finally {
      await producer.close();
      await Promise.all([stream.close(), secondStream.close()]);
      await Promise.all([first.consumer.close(true), second.consumer.close(true)]);
    }
  });
});
