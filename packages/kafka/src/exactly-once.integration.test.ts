import { describe, expect, it } from 'vitest';
import { LoomwatchError } from '@loomwatch/contracts';
import { createLogger } from '@loomwatch/observability';
import { useTestInfra } from '@loomwatch/testkit';
import { ExactlyOnceProcessor, type RecordHandler } from './exactly-once.js';

const ctx = useTestInfra();
const logger = createLogger({ service: 'test', level: 'silent' });

async function seed(topic: string, count: number): Promise<void> {
  const producer = ctx.kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: count }, (_, i) => ({ key: `key-${i % 4}`, value: `in-${i}` })),
  });
  await producer.disconnect();
}

async function readCommitted(topic: string, count: number): Promise<string[]> {
  return (await ctx.readCommitted(topic, count)).map((m) => m.value?.toString() ?? '');
}

function processor(input: string, groupId: string, handler: RecordHandler, output: string, dlq: string): ExactlyOnceProcessor {
  return new ExactlyOnceProcessor({
    kafka: ctx.kafka,
    groupId,
    topic: input,
    handler,
    onPermanentError: (record, error, attempts) => [
      { topic: dlq, key: record.key ?? '', value: Buffer.from(`${error.code}:${record.value?.toString()}:${attempts}`), headers: {} },
    ],
    logger,
    retry: { initialMs: 10, maxMs: 50 },
  });
}

describe('ExactlyOnceProcessor on the real broker', () => {
  it('gives every input exactly one committed outcome across two members of a group', async () => {
    const input = await ctx.topic({ partitions: 4 });
    const output = await ctx.topic();
    const dlq = await ctx.topic();
    await seed(input, 40);
    const groupId = ctx.group();
    const handler: RecordHandler = (record) =>
      Promise.resolve([{ topic: output, key: record.key ?? '', value: Buffer.from(`out-${record.value?.toString()}`), headers: {} }]);
    const first = processor(input, groupId, handler, output, dlq);
    const second = processor(input, groupId, handler, output, dlq);
    await Promise.all([first.start(), second.start()]);
    const outputs = await readCommitted(output, 40);
    await Promise.all([first.stop(), second.stop()]);

    expect(outputs).toHaveLength(40);
    expect(new Set(outputs)).toEqual(new Set(Array.from({ length: 40 }, (_, i) => `out-in-${i}`)));
  });

  it('retries a transient error without losing the record, and dead-letters a permanent one', async () => {
    const input = await ctx.topic();
    const output = await ctx.topic();
    const dlq = await ctx.topic();
    await seed(input, 3);
    const attempts = new Map<string, number>();
    const handler: RecordHandler = (record, attempt) => {
      const value = record.value?.toString() ?? '';
      attempts.set(value, attempt);
      if (value === 'in-0' && attempt < 3) {
        return Promise.reject(new LoomwatchError('STORAGE_UNAVAILABLE', 'S3 is down', { retryable: true }));
      }
      if (value === 'in-1') return Promise.reject(new LoomwatchError('IMAGE_CORRUPT', 'not an image'));
      return Promise.resolve([{ topic: output, key: 'k', value: Buffer.from(`out-${value}`), headers: {} }]);
    };
    const worker = processor(input, ctx.group(), handler, output, dlq);
    await worker.start();
    const [outputs, deadLetters] = await Promise.all([readCommitted(output, 2), readCommitted(dlq, 1)]);
    await worker.stop();

    expect(outputs).toEqual(['out-in-0', 'out-in-2']);
    expect(attempts.get('in-0')).toBe(3);
    expect(deadLetters).toEqual(['IMAGE_CORRUPT:in-1:1']);
  });

  it('commits the input offsets with the outcomes, so a restarted group decides nothing again', async () => {
    const input = await ctx.topic();
    const output = await ctx.topic();
    const dlq = await ctx.topic();
    await seed(input, 5);
    const groupId = ctx.group();
    let decided = 0;
    const handler: RecordHandler = (record) => {
      decided++;
      return Promise.resolve([{ topic: output, key: 'k', value: record.value ?? Buffer.alloc(0), headers: {} }]);
    };
    const first = processor(input, groupId, handler, output, dlq);
    await first.start();
    await readCommitted(output, 5);
    await first.stop();

    const admin = ctx.kafka.admin();
    await admin.connect();
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [input] });
    await admin.disconnect();
    expect(offsets?.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '5' })]);
    expect(decided).toBe(5);
  });
});
