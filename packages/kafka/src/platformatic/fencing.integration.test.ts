/**
 * What the exactly-once processor stands on (KIP-447): the group coordinator refuses offsets a
 * transaction commits in the name of a group generation that has moved on — so a member that lost
 * its partitions while it was frozen cannot commit what it decided meanwhile.
 */
import { randomUUID } from 'node:crypto';
import { Consumer, FetchIsolationLevels, MessagesStreamModes, Producer, findErrorBy, type Message } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { useTestKafka } from '../testing.js';
import { sleep } from '@loomwatch/concurrency';
import { NEW_PRODUCER, baseOptions } from './connection.js';

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
