import { describe, expect, it } from 'vitest';
import { useTestInfra, type ReadMessage } from '@loomwatch/testkit';

const ctx = useTestInfra();
const values = (messages: ReadMessage[]): string[] => messages.map((m) => m.value?.toString() ?? '');

describe('Kafka transactions with kafkajs on the local broker', () => {
  it('a read_committed consumer sees committed messages and never aborted ones', async () => {
    const topic = await ctx.topic();
    const producer = ctx.kafka.producer({
      transactionalId: `tx-${topic}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();

    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ key: 'k', value: 'committed-1' }, { key: 'k', value: 'committed-2' }] });
    await committed.commit();

    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ key: 'k', value: 'aborted-1' }] });
    await aborted.abort();

    const last = await producer.transaction();
    await last.send({ topic, messages: [{ key: 'k', value: 'committed-3' }] });
    await last.commit();
    await producer.disconnect();

    expect(values(await ctx.readCommitted(topic, 3))).toEqual(['committed-1', 'committed-2', 'committed-3']);
  });

  it('commits consumer offsets inside the transaction (consume-transform-produce)', async () => {
    const input = await ctx.topic();
    const output = await ctx.topic();
    const groupId = ctx.group('transform');
    const seed = ctx.kafka.producer();
    await seed.connect();
    await seed.send({ topic: input, messages: [{ value: 'a' }, { value: 'b' }] });
    await seed.disconnect();

    const producer = ctx.kafka.producer({ transactionalId: `tx-${groupId}-${input}-0`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const consumer = ctx.kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic: input, fromBeginning: true });
    let handled = 0;
    await new Promise<void>((resolve, reject) => {
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ topic, partition, message }) => {
          try {
            const tx = await producer.transaction();
            await tx.send({ topic: output, messages: [{ value: `${message.value?.toString()}!` }] });
            await tx.sendOffsets({
              consumerGroupId: groupId,
              topics: [{ topic, partitions: [{ partition, offset: String(Number(message.offset) + 1) }] }],
            });
            await tx.commit();
            if (++handled === 2) resolve();
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        },
      });
    });
    await consumer.disconnect();
    await producer.disconnect();

    const admin = ctx.kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId, topics: [input] });
    await admin.disconnect();
    expect(offsets[0]?.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '2' })]);
    expect(values(await ctx.readCommitted(output, 2))).toEqual(['a!', 'b!']);
  });
});
