import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { useTestInfra } from '@loomwatch/testkit';
import { headersToStrings } from './client.js';

const ctx = useTestInfra();

interface KcatMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  payload: string | null;
  headers?: string[];
}

function kcat(args: string[], input?: string): string {
  const result = spawnSync('kcat', ['-b', ctx.infra.kafkaBrokers.join(','), ...args], {
    encoding: 'utf8',
    input,
    timeout: 30_000,
  });
  if (result.status !== 0) throw new Error(`kcat ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

describe('kafkajs and kcat agree on the wire', () => {
  it('kcat reads what kafkajs produced, key and headers intact', async () => {
    const topic = await ctx.topic();
    const producer = ctx.kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [{ key: 'line-1:cam-1', value: '{"n":1}', headers: { ce_type: 'io.loomwatch.frame.v1', trace: 'abc' } }],
    });
    await producer.disconnect();

    const lines = kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-q']).trim().split('\n');
    expect(lines).toHaveLength(1);
    const message = JSON.parse(lines[0] ?? '') as KcatMessage;
    expect(message.key).toBe('line-1:cam-1');
    expect(message.payload).toBe('{"n":1}');
    expect(message.headers).toEqual(['ce_type', 'io.loomwatch.frame.v1', 'trace', 'abc']);
  });

  it('kafkajs reads what kcat produced, key and headers intact', async () => {
    const topic = await ctx.topic();
    kcat(['-P', '-t', topic, '-K', '|', '-H', 'ce_type=io.loomwatch.frame.v1', '-H', 'origin=kcat'], 'line-2:cam-9|{"n":2}\n');

    const consumer = ctx.kafka.consumer({ groupId: ctx.group() });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<{ key: string; value: string; headers: Record<string, string> }>((resolve) => {
      void consumer.run({
        eachMessage: ({ message }) => {
          resolve({
            key: message.key?.toString() ?? '',
            value: message.value?.toString() ?? '',
            headers: headersToStrings(message.headers),
          });
          return Promise.resolve();
        },
      });
    });
    await consumer.disconnect();
    expect(received).toEqual({
      key: 'line-2:cam-9',
      value: '{"n":2}',
      headers: { ce_type: 'io.loomwatch.frame.v1', origin: 'kcat' },
    });
  });
});
