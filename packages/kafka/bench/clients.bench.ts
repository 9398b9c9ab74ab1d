/**
 * `pnpm bench:kafka [--messages N] [--transactions T] [--reps R]`
 *
 * The Kafka ports (on @platformatic/kafka) against kafkajs 2.2.4 — the client they replaced — on
 * the same broker, interleaved, medians over R repetitions (default 3, alternating which goes
 * first):
 * - produce: N messages of 1 KiB (default 20,000) to a 4-partition topic, idempotent, acks all,
 *   500 per send;
 * - consume: reading those N back, read_committed, with a fresh group;
 * - transactions: T transactions (default 200) of one message each, commit latency p50 / p99.
 * Starts the local broker (deploy/local/infra.sh) unless KAFKA_BROKERS points at one. Progress
 * goes to stderr; the last stdout line is one JSON object.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
// The baseline: the client the ports replaced, measured in the same run (see eslint.config.js).
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { newCommand, parseOrExit } from '@loomwatch/config';
import { quantile } from '@loomwatch/observability';
import { startInfra } from '@loomwatch/testkit';
import { createKafkaClient, type OutboundMessage } from '../src/index.js';

const command = newCommand({
  name: 'pnpm bench:kafka',
  summary: 'The Kafka ports (@platformatic/kafka) against kafkajs, the client they replaced, on the local broker: produce, transactions, consume.',
  examples: ['loomwatch bench kafka --messages 20000 --reps 3'],
})
  .option('--messages <n>', 'messages per produce/consume round', '20000')
  .option('--transactions <n>', 'transactions per round', '200')
  .option('--reps <r>', 'repetitions (medians are reported)', '3');
parseOrExit(command);
const values = command.opts<{
  messages: string;
  transactions: string;
  reps: string;
}>();
const messageCount = Number(values.messages);
const transactionCount = Number(values.transactions);
const reps = Number(values.reps);
const BATCH = 500;
const PARTITIONS = 4;
const payload = Buffer.alloc(1024, 'x');

const progress = (line: string): void => void process.stderr.write(`${line}\n`);
/** The q-quantile of unsorted values. */
const quantileOf = (xs: readonly number[], q: number): number => quantile([...xs].sort((a, b) => a - b), q);
const median = (xs: readonly number[]): number => quantileOf(xs, 0.5);

const handle = await startInfra();
const brokers = handle.infra.kafkaBrokers;
const ports = createKafkaClient({ brokers, clientId: 'bench-ports' });
const kafkajs = new Kafka({ clientId: 'bench-kafkajs', brokers, logLevel: logLevel.NOTHING });
const topics: string[] = [];

async function freshTopic(partitions: number): Promise<string> {
  const topic = `bench-${randomUUID().slice(0, 12)}`;
  await ports.topics.ensure([{ topic, numPartitions: partitions }]);
  topics.push(topic);
  return topic;
}

function messages(topic: string): OutboundMessage[] {
  return Array.from({ length: messageCount }, (_, i) => ({ topic, key: `line-${i % 16}:cam-1`, value: payload, headers: { seq: String(i) } }));
}

interface Client {
  name: string;
  produce(topic: string): Promise<void>;
  consume(topic: string): Promise<number>;
  transactions(topic: string): Promise<number[]>;
}

const portsClient: Client = {
  name: '@platformatic/kafka (ports)',
  async produce(topic) {
    const publisher = ports.publisher();
    await publisher.connect();
    const all = messages(topic);
    for (let i = 0; i < all.length; i += BATCH) await publisher.send(all.slice(i, i + BATCH));
    await publisher.close();
  },
  async consume(topic) {
    let n = 0;
    await ports.reader.readToEnd([topic], () => void n++);
    return n;
  },
  async transactions(topic) {
    const publisher = ports.transactionalPublisher(`bench-${randomUUID()}`);
    await publisher.connect();
    const latencies: number[] = [];
    for (let i = 0; i < transactionCount; i++) {
      const started = performance.now();
      const transaction = await publisher.transaction();
      await transaction.send([{ topic, key: `k${i}`, value: payload, headers: {} }]);
      await transaction.commit();
      latencies.push(performance.now() - started);
    }
    await publisher.close();
    return latencies;
  },
};

const kafkajsClient: Client = {
  name: 'kafkajs 2.2.4',
  async produce(topic) {
    const producer = kafkajs.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const all = messages(topic);
    for (let i = 0; i < all.length; i += BATCH) {
      await producer.send({ topic, acks: -1, messages: all.slice(i, i + BATCH).map(({ key, value, headers }) => ({ key, value, headers })) });
    }
    await producer.disconnect();
  },
  async consume(topic) {
    const consumer = kafkajs.consumer({ groupId: `bench-${randomUUID()}`, readUncommitted: false });
    let n = 0;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        n += batch.messages.length;
        if (n >= messageCount) done();
        return Promise.resolve();
      },
    });
    await finished;
    await consumer.disconnect();
    return n;
  },
  async transactions(topic) {
    const producer = kafkajs.producer({ transactionalId: `bench-${randomUUID()}`, idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const latencies: number[] = [];
    for (let i = 0; i < transactionCount; i++) {
      const started = performance.now();
      const transaction = await producer.transaction();
      await transaction.send({ topic, messages: [{ key: `k${i}`, value: payload }] });
      await transaction.commit();
      latencies.push(performance.now() - started);
    }
    await producer.disconnect();
    return latencies;
  },
};

interface Figures {
  produce: number[];
  consume: number[];
  p50: number[];
  p99: number[];
}
const figures = new Map<string, Figures>();
for (const client of [portsClient, kafkajsClient]) figures.set(client.name, { produce: [], consume: [], p50: [], p99: [] });

const started = Date.now();
const loadAtStart = loadavg()[0] ?? NaN;
try {
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? [portsClient, kafkajsClient] : [kafkajsClient, portsClient];
    for (const client of order) {
      const own = figures.get(client.name);
      if (own === undefined) continue;
      const topic = await freshTopic(PARTITIONS);
      let t = performance.now();
      await client.produce(topic);
      own.produce.push(messageCount / ((performance.now() - t) / 1000));
      t = performance.now();
      const read = await client.consume(topic);
      if (read !== messageCount) throw new Error(`${client.name} read ${read} of ${messageCount} messages`);
      own.consume.push(messageCount / ((performance.now() - t) / 1000));
      const latencies = await client.transactions(await freshTopic(1));
      own.p50.push(quantileOf(latencies, 0.5));
      own.p99.push(quantileOf(latencies, 0.99));
    }
    const elapsed = (Date.now() - started) / 1000;
    progress(`rep ${rep + 1}/${reps} done in ${elapsed.toFixed(0)} s; about ${((elapsed / (rep + 1)) * (reps - rep - 1)).toFixed(0)} s left`);
  }
} finally {
  await ports.topics.delete(topics).catch(() => undefined);
  await handle.stop();
}

const summary = Object.fromEntries(
  [...figures].map(([name, f]) => [
    name,
    { producePerS: Math.round(median(f.produce)), consumePerS: Math.round(median(f.consume)), txnP50Ms: median(f.p50), txnP99Ms: median(f.p99) },
  ]),
);
const ours = summary[portsClient.name];
const base = summary[kafkajsClient.name];
if (ours === undefined || base === undefined) throw new Error('a client has no figures');
const ratio = (a: number, b: number): number => Number((a / b).toFixed(2));
progress(`                       ${'produce msg/s'.padStart(14)} ${'consume msg/s'.padStart(14)} ${'txn p50 ms'.padStart(11)} ${'txn p99 ms'.padStart(11)}`);
for (const [name, f] of Object.entries(summary)) {
  progress(`${name.padEnd(28)} ${String(f.producePerS).padStart(9)} ${String(f.consumePerS).padStart(14)} ${f.txnP50Ms.toFixed(1).padStart(11)} ${f.txnP99Ms.toFixed(1).padStart(11)}`);
}
progress(
  `ratio ports / kafkajs: produce ${ratio(ours.producePerS, base.producePerS)}, consume ${ratio(ours.consumePerS, base.consumePerS)}, txn p50 ${ratio(ours.txnP50Ms, base.txnP50Ms)}, txn p99 ${ratio(ours.txnP99Ms, base.txnP99Ms)}`,
);
console.log(
  JSON.stringify({
    messages: messageCount,
    messageBytes: payload.length,
    transactions: transactionCount,
    reps,
    cpu: cpus()[0]?.model,
    loadAtStart,
    clients: summary,
    ratio: {
      produce: ratio(ours.producePerS, base.producePerS),
      consume: ratio(ours.consumePerS, base.consumePerS),
      txnP50: ratio(ours.txnP50Ms, base.txnP50Ms),
      txnP99: ratio(ours.txnP99Ms, base.txnP99Ms),
    },
  }),
);
