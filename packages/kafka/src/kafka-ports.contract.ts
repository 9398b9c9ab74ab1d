/**
 * The behaviour every adapter of the Kafka ports must show, on a real broker. kcat (librdkafka,
 * an independent client) checks the wire: what a subscriber outside our code would see.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LoomwatchError } from '@loomwatch/contracts';
import { createLogger } from '@loomwatch/observability';
import { sleep } from '@loomwatch/concurrency';
import { partitionOf } from './platformatic/publishers.js';
import type { GroupProtocol, InboundRecord, KafkaClient, OutboundMessage, RecordHandler, RecordProcessor } from './ports.js';

const logger = createLogger({ service: 'kafka-contract', level: 'silent' });
const text = (records: readonly InboundRecord[]): string[] => records.map((r) => r.value?.toString() ?? '');
/** A key for each partition of a topic with `partitions` partitions (the Java client's murmur2). */
const keysForEveryPartition = (partitions: number): string[] => {
  const keys = new Map<number, string>();
  for (let i = 0; keys.size < partitions; i++) if (!keys.has(partitionOf(`sentinel-${i}`, partitions))) keys.set(partitionOf(`sentinel-${i}`, partitions), `sentinel-${i}`);
  return [...keys.values()];
};
const message = (topic: string, key: string, value: string, headers: Record<string, string> = {}): OutboundMessage => ({
  topic,
  key,
  value: Buffer.from(value),
  headers,
});

interface KcatRecord {
  partition: number;
  offset: number;
  key: string | null;
  payload: string | null;
  headers?: string[];
}

/** What a member process (see member-process.ts) is told: its group, topics and static id. */
export interface MemberSettings {
  group: string;
  input: string;
  output: string;
  /** Absent: a dynamic member. */
  instanceId?: string;
  sessionTimeoutMs: number;
  /** @defaultValue 'classic' */
  groupProtocol?: GroupProtocol;
}

/** Starts an exactly-once member as its own process, so that a test can SIGKILL it. */
export type MemberSpawner = (settings: MemberSettings) => ChildProcess;

/** A member process line: what it was assigned, what it committed, why it stopped. */
interface MemberEvent {
  event: 'started' | 'assigned' | 'committed' | 'fatal';
  at: number;
  partitions?: number[];
  generation?: number;
  values?: string[];
  message?: string;
}

/** A member process and the events it has reported so far. */
interface Member {
  child: ChildProcess;
  events: MemberEvent[];
  spawnedAt: number;
  exited: Promise<number | null>;
}

function track(child: ChildProcess): Member {
  const events: MemberEvent[] = [];
  if (child.stdout !== null) createInterface({ input: child.stdout }).on('line', (line) => void events.push(JSON.parse(line) as MemberEvent));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, events, spawnedAt: Date.now(), exited };
}

const lastAssignment = (events: readonly MemberEvent[]): MemberEvent | undefined => events.filter((e) => e.event === 'assigned').at(-1);

export function kafkaPortsContract(name: string, brokers: () => string[], makeClient: () => KafkaClient, spawnMember?: MemberSpawner): void {
  describe(`Kafka ports contract: ${name}`, () => {
    let client: KafkaClient;
    const created: string[] = [];
    const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 12)}`;
    const topic = async (partitions = 1): Promise<string> => {
      const name = unique('contract');
      await client.topics.ensure([{ topic: name, numPartitions: partitions }]);
      created.push(name);
      return name;
    };
    const publish = async (messages: OutboundMessage[]): Promise<void> => {
      const publisher = client.publisher();
      await publisher.connect();
      await publisher.send(messages);
      await publisher.close();
    };
    const readAll = async (topics: string[]): Promise<InboundRecord[]> => {
      const records: InboundRecord[] = [];
      await client.reader.readToEnd(topics, (record) => void records.push(record), { idleTimeoutMs: 30_000 });
      return records.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition || Number(a.offset) - Number(b.offset));
    };
    /** The committed records of `topic` once it holds at least `count`. */
    const readWhen = (name: string, count: number, timeoutMs = 60_000): Promise<InboundRecord[]> =>
      vi.waitFor(
        async () => {
          const records = await readAll([name]);
          expect(records.length).toBeGreaterThanOrEqual(count);
          return records;
        },
        { timeout: timeoutMs, interval: 250 },
      );
    const kcat = (args: string[], input?: string): string => {
      const result = spawnSync('kcat', ['-b', brokers().join(','), ...args], { encoding: 'utf8', input, timeout: 30_000 });
      if (result.status !== 0) throw new Error(`kcat ${args.join(' ')} failed: ${result.stderr}`);
      return result.stdout;
    };

    beforeAll(() => {
      client = makeClient();
    });
    afterAll(async () => {
      await client.topics.delete(created).catch(() => undefined);
    });

    describe('topics', () => {
      it('creates a topic once, with its partitions, lists it and deletes it', async () => {
        const name = unique('contract-topics');
        await client.topics.ensure([{ topic: name, numPartitions: 3 }]);
        await client.topics.ensure([{ topic: name, numPartitions: 3 }]);
        expect(await client.topics.list()).toContain(name);
        const offsets = client.offsets();
        expect((await offsets.watermarks(name)).map((w) => w.partition).sort()).toEqual([0, 1, 2]);
        await offsets.close();
        await client.topics.delete([name]);
        await expect.poll(() => client.topics.list(), { timeout: 10_000, interval: 250 }).not.toContain(name);
      });

      it('describes a topic (partitions, replication, configs), sets its configs and grows it', async () => {
        const name = await topic(2);
        const missing = unique('contract-missing');
        const before = (await client.topics.describe([name, missing])).get(name);
        expect(before).toMatchObject({ topic: name, partitions: 2, replicationFactor: 1, configs: { 'cleanup.policy': 'delete' } });
        expect((await client.topics.describe([missing])).size).toBe(0);
        expect(await client.topics.brokerCount()).toBeGreaterThanOrEqual(1);

        await client.topics.alterConfigs(name, { 'retention.ms': '3600000', 'min.insync.replicas': '1' });
        await client.topics.grow(name, 3);
        await expect
          .poll(async () => {
            const after = (await client.topics.describe([name])).get(name);
            return [after?.partitions, after?.configs['retention.ms'], after?.configs['cleanup.policy']];
          })
          .toEqual([3, '3600000', 'delete']);
        // The independent client sees the partitions too.
        expect(kcat(['-L', '-t', name])).toContain(`topic "${name}" with 3 partitions`);
      });
    });

    describe('publisher and reader', () => {
      it('reads back what it published, key, value and headers intact, one key on one partition', async () => {
        const name = await topic(4);
        await publish([
          message(name, 'line-1:cam-1', '1', { ce_type: 'io.loomwatch.frame.v1' }),
          message(name, 'line-1:cam-1', '2'),
          message(name, 'line-2:cam-1', '3'),
        ]);
        const records = await readAll([name]);
        expect(text(records).sort()).toEqual(['1', '2', '3']);
        const first = records.filter((r) => r.key === 'line-1:cam-1');
        expect(new Set(first.map((r) => r.partition)).size).toBe(1);
        expect(text(first)).toEqual(['1', '2']);
        expect(first[0]?.headers).toEqual({ ce_type: 'io.loomwatch.frame.v1' });
        expect(Number(first[0]?.timestamp)).toBeGreaterThan(Date.now() - 120_000);
      });

      it('kcat reads what the publisher produced, and the reader reads what kcat produced', async () => {
        const name = await topic();
        await publish([message(name, 'line-1:cam-1', '{"n":1}', { ce_type: 'io.loomwatch.frame.v1', trace: 'abc' })]);
        const lines = kcat(['-C', '-t', name, '-o', 'beginning', '-e', '-J', '-q']).trim().split('\n');
        expect(lines).toHaveLength(1);
        const seen = JSON.parse(lines[0] ?? '') as KcatRecord;
        expect([seen.key, seen.payload, seen.headers]).toEqual(['line-1:cam-1', '{"n":1}', ['ce_type', 'io.loomwatch.frame.v1', 'trace', 'abc']]);

        kcat(['-P', '-t', name, '-K', '|', '-H', 'origin=kcat'], 'line-2:cam-9|{"n":2}\n');
        const last = (await readWhen(name, 2)).at(-1);
        expect([last?.key, last?.value?.toString(), last?.headers]).toEqual(['line-2:cam-9', '{"n":2}', { origin: 'kcat' }]);
      });

      it('puts a key on the partition the Java client would (murmur2, as kcat with partitioner=murmur2)', async () => {
        // Three partitions: with a power of two, murmur2 taken unsigned and sign-masked give the same partitions.
        const name = await topic(3);
        const keys = Array.from({ length: 12 }, (_, i) => `line-${i % 3}:cam-${i}`);
        await publish(keys.map((key) => message(name, key, 'ours')));
        kcat(['-P', '-t', name, '-K', '|', '-X', 'partitioner=murmur2'], keys.map((key) => `${key}|kcat`).join('\n') + '\n');
        const records = await readWhen(name, 2 * keys.length);
        const where = (value: string): Map<string | undefined, number> => new Map(records.filter((r) => r.value?.toString() === value).map((r) => [r.key, r.partition]));
        expect(where('ours')).toEqual(where('kcat'));
        expect(new Set(where('ours').values()).size).toBeGreaterThan(1);
      });

      it('reads only the given offset ranges, and stops early when the visitor says so', async () => {
        const name = await topic();
        await publish(Array.from({ length: 10 }, (_, i) => message(name, 'k', `v${i}`)));
        const ranged: InboundRecord[] = [];
        await client.reader.readRanges([{ topic: name, partition: 0, from: 3, to: 6 }], (r) => void ranged.push(r));
        expect(text(ranged)).toEqual(['v3', 'v4', 'v5']);
        const early: InboundRecord[] = [];
        await client.reader.readRanges([{ topic: name, partition: 0, from: 0, to: 10 }], (r) => {
          early.push(r);
          return r.value?.toString() === 'v1' ? 'stop' : undefined;
        });
        expect(text(early)).toEqual(['v0', 'v1']);
      });

      it('follows a topic: from the beginning it resolves caught up, then sees new records; from the end only new ones', async () => {
        const name = await topic(2);
        await publish([message(name, 'a', 'old-a'), message(name, 'b', 'old-b')]);
        const fromStart: string[] = [];
        const fromEnd: string[] = [];
        const beginning = await client.reader.follow(name, (r) => void fromStart.push(r.value?.toString() ?? ''));
        expect(fromStart.sort()).toEqual(['old-a', 'old-b']);
        const end = await client.reader.follow(name, (r) => void fromEnd.push(r.value?.toString() ?? ''), { from: 'end' });
        expect([beginning.running, end.running]).toEqual([true, true]);
        await publish([message(name, 'a', 'new-a')]);
        await vi.waitFor(() => expect([fromStart.length, fromEnd.length]).toEqual([3, 1]), { timeout: 20_000, interval: 100 });
        await Promise.all([beginning.stop(), end.stop()]);
        expect(fromStart).toContain('new-a');
        expect(fromEnd).toEqual(['new-a']);
        expect([beginning.running, end.running]).toEqual([false, false]);
      });

      it('tells the owner when a follow fails for good (its topic deleted): running turns false and onFatal is called once', async () => {
        const name = unique('contract-follow-fails');
        await client.topics.ensure([{ topic: name }]);
        const subscription = await client.reader.follow(name, () => undefined);
        const failures: Error[] = [];
        subscription.onFatal((error) => failures.push(error));
        await client.topics.delete([name]);
        await vi.waitFor(() => expect(failures).toHaveLength(1), { timeout: 60_000, interval: 250 });
        expect(subscription.running).toBe(false);
        // A listener added after the failure hears of it at once.
        const late: Error[] = [];
        subscription.onFatal((error) => late.push(error));
        expect(late).toEqual(failures);
        await subscription.stop();
      }, 90_000);
    });

    describe('transactions', () => {
      it('read_committed readers see committed transactions and never aborted ones, and a topic ending in an abort still ends', async () => {
        const name = await topic();
        const publisher = client.transactionalPublisher(`contract-tx-${name}`);
        await publisher.connect();
        const committed = await publisher.transaction();
        await committed.send([message(name, 'k', 'committed-1'), message(name, 'k', 'committed-2')]);
        await committed.commit();
        const aborted = await publisher.transaction();
        await aborted.send([message(name, 'k', 'aborted-1')]);
        await aborted.abort();
        await publisher.close();

        expect(text(await readAll([name]))).toEqual(['committed-1', 'committed-2']);
        const lines = kcat(['-X', 'isolation.level=read_committed', '-C', '-t', name, '-o', 'beginning', '-e', '-J', '-q']).trim().split('\n');
        expect(lines.map((line) => (JSON.parse(line) as KcatRecord).payload)).toEqual(['committed-1', 'committed-2']);
      });

      it('readers skip an aborted transaction even when its abort marker comes in a later fetch than its records', async () => {
        const name = await topic();
        const publisher = client.transactionalPublisher(`contract-abort-${name}`);
        await publisher.connect();
        // Two sends of 600 kB each: two batches, which no fetch of 1 MiB per partition takes together with the marker.
        const aborted = await publisher.transaction();
        await aborted.send([message(name, 'k', `aborted-1:${'x'.repeat(600_000)}`)]);
        await aborted.send([message(name, 'k', `aborted-2:${'x'.repeat(600_000)}`)]);
        await aborted.abort();
        const committed = await publisher.transaction();
        await committed.send([message(name, 'k', 'committed')]);
        await committed.commit();
        await publisher.close();

        expect(text(await readAll([name]))).toEqual(['committed']);
        const followed: string[] = [];
        const subscription = await client.reader.follow(name, (r) => void followed.push(r.value?.toString() ?? ''));
        await subscription.stop();
        expect(followed).toEqual(['committed']);
      });

      it('readers skip every one of several transactions one producer aborted in a row (one fetch covers them all)', async () => {
        const name = await topic();
        const publisher = client.transactionalPublisher(`contract-aborts-${name}`);
        await publisher.connect();
        for (let i = 0; i < 3; i++) {
          const aborted = await publisher.transaction();
          await aborted.send([message(name, 'k', `aborted-${i}`)]);
          await aborted.abort();
        }
        const committed = await publisher.transaction();
        await committed.send([message(name, 'k', 'committed')]);
        await committed.commit();
        await publisher.close();

        expect(text(await readAll([name]))).toEqual(['committed']);
        const followed: string[] = [];
        const subscription = await client.reader.follow(name, (r) => void followed.push(r.value?.toString() ?? ''));
        await subscription.stop();
        expect(followed).toEqual(['committed']);
      });

      it('a new owner of a transactional id fences the old one and aborts its open transaction', async () => {
        const name = await topic();
        const id = `contract-fence-${name}`;
        const zombie = client.transactionalPublisher(id);
        await zombie.connect();
        const open = await zombie.transaction();
        await open.send([message(name, 'k', 'from-the-zombie')]);
        const successor = client.transactionalPublisher(id);
        await successor.connect();
        // The successor's initialisation aborted the zombie's transaction; whatever its late commit answers, it commits nothing.
        await open.commit().catch(() => undefined);
        const next = await successor.transaction();
        await next.send([message(name, 'k', 'from-the-successor')]);
        await next.commit();
        await Promise.all([zombie.close().catch(() => undefined), successor.close()]);
        expect(text(await readAll([name]))).toEqual(['from-the-successor']);
      });
    });

    // The KIP-848 group coordinator's session timeout (group.consumer.session.timeout.ms; 45 s is
    // also its least): a KIP-848 member killed without leaving holds its partitions this long.
    const CONSUMER_GROUP_SESSION_TIMEOUT_MS = 45_000;
    describe.each(['classic', 'consumer'] as const)('exactly-once processing (group protocol %s)', (groupProtocol) => {
      const processor = (input: string, groupId: string, handler: RecordHandler, dlq: string): RecordProcessor =>
        client.exactlyOnce({
          groupId,
          groupProtocol,
          topic: input,
          handler,
          onPermanentError: (record, error, attempts) => [message(dlq, record.key ?? '', `${error.code}:${record.value?.toString()}:${attempts}`)],
          logger,
          retry: { initialMs: 10, maxMs: 50 },
        });

      it('gives every input exactly one committed outcome across two members of a group, and nothing after it', async () => {
        const [input, output, dlq] = [await topic(4), await topic(), await topic()];
        await publish(Array.from({ length: 40 }, (_, i) => message(input, `key-${i % 4}`, `in-${i}`)));
        const groupId = unique('contract-eo');
        const handler: RecordHandler = (record) => Promise.resolve([message(output, record.key ?? '', `out-${record.value?.toString()}`)]);
        const members = [processor(input, groupId, handler, dlq), processor(input, groupId, handler, dlq)];
        await Promise.all(members.map((member) => member.start()));
        expect(members.every((member) => member.running)).toBe(true);
        // A sentinel behind the inputs on every partition: once each has its outcome, every input
        // before it has been committed, so no outcome of theirs can come after.
        const sentinels = keysForEveryPartition(4);
        await publish(sentinels.map((key) => message(input, key, `sentinel-${key}`)));
        const settled = text(await readWhen(output, 40 + sentinels.length)).filter((value) => !value.startsWith('out-sentinel-'));
        await Promise.all(members.map((member) => member.stop()));

        expect(members.some((member) => member.running)).toBe(false);
        expect(settled).toHaveLength(40);
        expect(new Set(settled)).toEqual(new Set(Array.from({ length: 40 }, (_, i) => `out-in-${i}`)));
      });

      it('retries a transient error without losing the record, and dead-letters a permanent one', async () => {
        const [input, output, dlq] = [await topic(), await topic(), await topic()];
        await publish([message(input, 'k', 'in-0'), message(input, 'k', 'in-1'), message(input, 'k', 'in-2')]);
        const attempts = new Map<string, number>();
        const handler: RecordHandler = (record, attempt) => {
          const value = record.value?.toString() ?? '';
          attempts.set(value, attempt);
          if (value === 'in-0' && attempt < 3) return Promise.reject(new LoomwatchError('STORAGE_UNAVAILABLE', 'S3 is down', { retryable: true }));
          if (value === 'in-1') return Promise.reject(new LoomwatchError('IMAGE_CORRUPT', 'not an image'));
          return Promise.resolve([message(output, 'k', `out-${value}`)]);
        };
        const worker = processor(input, unique('contract-retry'), handler, dlq);
        await worker.start();
        const [outputs, deadLetters] = await Promise.all([readWhen(output, 2), readWhen(dlq, 1)]);
        await worker.stop();

        expect(text(outputs)).toEqual(['out-in-0', 'out-in-2']);
        expect(attempts.get('in-0')).toBe(3);
        expect(text(deadLetters)).toEqual(['IMAGE_CORRUPT:in-1:1']);
      });

      it('commits the input offsets with the outcomes, so a restarted group decides nothing again', async () => {
        const [input, output, dlq] = [await topic(), await topic(), await topic()];
        await publish(Array.from({ length: 5 }, (_, i) => message(input, 'k', `in-${i}`)));
        const groupId = unique('contract-offsets');
        let decided = 0;
        const handler: RecordHandler = (record) => {
          decided++;
          return Promise.resolve([message(output, 'k', record.value?.toString() ?? '')]);
        };
        const first = processor(input, groupId, handler, dlq);
        await first.start();
        await readWhen(output, 5);
        await first.stop();
        const offsets = client.offsets();
        expect(await offsets.committed(groupId, input)).toEqual(new Map([[0, 5]]));
        await offsets.close();

        // Restarted, the group's next decision is a record published after the restart, not an old one.
        const second = processor(input, groupId, handler, dlq);
        await second.start();
        await publish([message(input, 'k', 'after-restart')]);
        const outputs = text(await readWhen(output, 6));
        await second.stop();
        expect(outputs).toEqual(['in-0', 'in-1', 'in-2', 'in-3', 'in-4', 'after-restart']);
        expect(decided).toBe(6);
      });
      describe.runIf(spawnMember !== undefined)(groupProtocol === 'classic' ? 'static membership (KIP-345)' : 'membership (KIP-848)', () => {
        const members: Member[] = [];
        const spawn = (settings: MemberSettings): Member => {
          const member = track((spawnMember as MemberSpawner)({ ...settings, groupProtocol }));
          members.push(member);
          return member;
        };
        afterAll(() => {
          for (const member of members) if (member.child.exitCode === null && member.child.signalCode === null) member.child.kill('SIGKILL');
        });
        const values = (count: number, prefix: string): string[] => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
        /** Publishes `inputs` spread over every partition, so whichever partitions a member gets hold records. */
        const publishAll = (input: string, inputs: readonly string[], partitions: number): Promise<void> => {
          const keys = keysForEveryPartition(partitions);
          return publish(inputs.map((value, i) => message(input, keys[i % partitions] ?? '', value)));
        };
        /** Publishes a sentinel on every partition and returns the outputs (sentinels left out) once each has its outcome. */
        const settle = async (input: string, output: string, partitions: number): Promise<string[]> => {
          const sentinels = keysForEveryPartition(partitions).map((key) => ({ key, value: `sentinel-${randomUUID().slice(0, 8)}` }));
          await publish(sentinels.map(({ key, value }) => message(input, key, value)));
          const wanted = new Set(sentinels.map(({ value }) => `out-${value}`));
          const all = await vi.waitFor(
            async () => {
              const outputs = text(await readAll([output]));
              expect(outputs.filter((value) => wanted.has(value))).toHaveLength(sentinels.length);
              return outputs;
            },
            { timeout: 90_000, interval: 250 },
          );
          return all.filter((value) => !value.startsWith('out-sentinel-'));
        };

        /**
         * The time from a killed member's restart to its first committed record: a static member
         * restarted within the session timeout is handed its partitions back at once; a dynamic one
         * waits for the group to notice the dead member (the session timeout), then a rebalance.
         */
        const killAndRestart = async (instanceId: string | undefined, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL', sessionTimeoutMs = 10_000): Promise<{ restartToFirstCommitMs: number; otherAssignments: number[][]; outputs: string[]; before: MemberEvent; after: MemberEvent }> => {
          const [input, output] = [await topic(4), await topic()];
          const group = unique(instanceId === undefined ? 'contract-dynamic' : 'contract-static');
          const otherAssignments: number[][] = [];
          const other = client.exactlyOnce({
            groupId: group,
            groupProtocol,
            topic: input,
            logger,
            sessionTimeoutMs,
            heartbeatIntervalMs: 500,
            maxWaitTimeMs: 500,
            retry: { initialMs: 10, maxMs: 50 },
            handler: (record) => Promise.resolve([message(output, record.key ?? '', `out-${record.value?.toString() ?? ''}`)]),
            onPermanentError: () => [],
            onAssigned: (partitions) => void otherAssignments.push([...partitions]),
          });
          await other.start();
          await vi.waitFor(() => expect(otherAssignments.at(-1)).toHaveLength(4), { timeout: 30_000, interval: 50 });
          const settings = { group, input, output, sessionTimeoutMs, ...(instanceId === undefined ? {} : { instanceId }) };
          const first = spawn(settings);
          await vi.waitFor(() => expect([otherAssignments.at(-1)?.length, lastAssignment(first.events)?.partitions?.length]).toEqual([2, 2]), { timeout: 60_000, interval: 50 });
          const before = lastAssignment(first.events) as MemberEvent;
          const firstBatch = values(20, 'first');
          await publishAll(input, firstBatch, 4);
          await vi.waitFor(() => expect(first.events.some((e) => e.event === 'committed')).toBe(true), { timeout: 60_000, interval: 50 });
          await settle(input, output, 4);
          const stableAssignments = otherAssignments.length;

          first.child.kill(signal);
          await first.exited;
          // Restarted at once (the records follow while it starts), as an orchestrator restarts a pod.
          const second = spawn(settings);
          const secondBatch = values(20, 'second');
          await publishAll(input, secondBatch, 4);
          await vi.waitFor(() => expect(lastAssignment(second.events)).toBeDefined(), { timeout: 90_000, interval: 20 });
          // A dynamic member may be handed partitions whose records the other member decided meanwhile:
          // the sentinels give every partition a record, so the restarted member commits one either way.
          const outputs = await settle(input, output, 4);
          const restartToFirstCommitMs = (second.events.find((e) => e.event === 'committed')?.at ?? Number.NaN) - second.spawnedAt;
          second.child.kill('SIGTERM');
          await second.exited;
          await other.stop();
          console.info(`${instanceId === undefined ? 'dynamic' : 'static'} member stopped (${signal}) and restarted: assigned ${(lastAssignment(second.events)?.at ?? 0) - second.spawnedAt} ms, first record committed ${restartToFirstCommitMs} ms after the restart (session timeout ${sessionTimeoutMs} ms)`);
          return { restartToFirstCommitMs, otherAssignments: otherAssignments.slice(stableAssignments - 1), outputs, before, after: lastAssignment(second.events) as MemberEvent };
        };

        it.runIf(groupProtocol === 'classic')('a static member SIGKILLed and restarted with its id gets its partitions back, the other member untouched, nothing lost or doubled', async () => {
          const result = await killAndRestart(unique('worker'));
          // The same partitions under the same generation: no rebalance; the other member was never revoked.
          expect([result.after.partitions, result.after.generation]).toEqual([result.before.partitions, result.before.generation]);
          expect(result.otherAssignments).toHaveLength(1);
          expect(result.restartToFirstCommitMs).toBeLessThan(10_000);
          const expected = [...values(20, 'first'), ...values(20, 'second')].map((value) => `out-${value}`);
          expect(result.outputs).toHaveLength(expected.length);
          expect(new Set(result.outputs)).toEqual(new Set(expected));
        }, 180_000);

        it('a static member stopped gracefully (no LeaveGroup) and restarted gets its partitions back, the other member untouched, nothing lost or doubled', async () => {
          // The session timeout bounds the time from the stop (its heartbeats end) to the restarted process's join.
          const sessionTimeoutMs = 20_000;
          const result = await killAndRestart(unique('worker'), 'SIGTERM', sessionTimeoutMs);
          expect([result.after.partitions, result.after.generation]).toEqual([result.before.partitions, result.before.generation]);
          expect(result.otherAssignments).toHaveLength(1);
          expect(result.restartToFirstCommitMs).toBeLessThan(sessionTimeoutMs);
          const expected = [...values(20, 'first'), ...values(20, 'second')].map((value) => `out-${value}`);
          expect(result.outputs).toHaveLength(expected.length);
          expect(new Set(result.outputs)).toEqual(new Set(expected));
        }, 180_000);

        it('a static member leaving for good (stop with leaveGroup) hands its partitions over at once, well within the session timeout, nothing lost or doubled', async () => {
          const [input, output] = [await topic(4), await topic()];
          const group = unique('contract-leave');
          const sessionTimeoutMs = 10_000;
          const otherAssignments: { partitions: number[]; at: number }[] = [];
          const other = client.exactlyOnce({
            groupId: group,
            groupProtocol,
            topic: input,
            logger,
            sessionTimeoutMs,
            heartbeatIntervalMs: 500,
            maxWaitTimeMs: 500,
            retry: { initialMs: 10, maxMs: 50 },
            handler: (record) => Promise.resolve([message(output, record.key ?? '', `out-${record.value?.toString() ?? ''}`)]),
            onPermanentError: () => [],
            onAssigned: (partitions) => void otherAssignments.push({ partitions: [...partitions], at: Date.now() }),
          });
          await other.start();
          const leaving = spawn({ group, input, output, sessionTimeoutMs, instanceId: unique('worker') });
          await vi.waitFor(() => expect([otherAssignments.at(-1)?.partitions.length, lastAssignment(leaving.events)?.partitions?.length]).toEqual([2, 2]), { timeout: 60_000, interval: 50 });
          const firstBatch = values(20, 'first');
          await publishAll(input, firstBatch, 4);
          await vi.waitFor(() => expect(leaving.events.some((e) => e.event === 'committed')).toBe(true), { timeout: 60_000, interval: 50 });

          leaving.child.kill('SIGUSR2');
          expect(await leaving.exited).toBe(0);
          const leftAt = Date.now();
          await vi.waitFor(() => expect(otherAssignments.at(-1)?.partitions).toHaveLength(4), { timeout: 30_000, interval: 20 });
          const handedOverMs = (otherAssignments.at(-1)?.at ?? 0) - leftAt;
          const secondBatch = values(20, 'second');
          await publishAll(input, secondBatch, 4);
          const outputs = await settle(input, output, 4);
          await other.stop();
          console.info(`static member left for good: its partitions handed over ${handedOverMs} ms after it exited (session timeout ${sessionTimeoutMs} ms)`);
          // KIP-848: the other member hears of the change at its next heartbeat (the group's interval, 5 s by default).
          expect(handedOverMs).toBeLessThan((groupProtocol === 'classic' ? sessionTimeoutMs : CONSUMER_GROUP_SESSION_TIMEOUT_MS) / 2);
          const expected = [...firstBatch, ...secondBatch].map((value) => `out-${value}`);
          expect(outputs).toHaveLength(expected.length);
          expect(new Set(outputs)).toEqual(new Set(expected));
        }, 180_000);

        it.runIf(groupProtocol === 'classic')('a dynamic member SIGKILLed and restarted waits for the session timeout and a rebalance of the whole group', async () => {
          const result = await killAndRestart(undefined);
          expect(result.after.generation).toBeGreaterThan(result.before.generation ?? 0);
          // The other member was revoked: it took all four partitions, then gave two back.
          expect(result.otherAssignments.length).toBeGreaterThan(1);
          const expected = [...values(20, 'first'), ...values(20, 'second')].map((value) => `out-${value}`);
          expect(result.outputs).toHaveLength(expected.length);
          expect(new Set(result.outputs)).toEqual(new Set(expected));
        }, 180_000);

        it.runIf(groupProtocol === 'classic')('a second incarnation with the same id, while the first is alive, fences the first: it stops, and the outputs hold each input once', async () => {
          const [input, output] = [await topic(2), await topic()];
          const settings = { group: unique('contract-fenced'), input, output, instanceId: unique('worker'), sessionTimeoutMs: 10_000 };
          const zombie = spawn(settings);
          await vi.waitFor(() => expect(lastAssignment(zombie.events)?.partitions).toHaveLength(2), { timeout: 60_000, interval: 50 });
          // Records keep coming until the zombie stops, so it is deciding and committing when it is fenced.
          const inputs: string[] = [];
          let zombieStopped = false;
          const feeding = (async () => {
            for (let batch = 0; batch < 100 && !zombieStopped; batch++) {
              const next = values(10, `fence-${batch}`);
              inputs.push(...next);
              await publishAll(input, next, 2);
            }
          })();
          await vi.waitFor(() => expect(zombie.events.some((e) => e.event === 'committed')).toBe(true), { timeout: 60_000, interval: 20 });
          const successor = spawn(settings);
          expect(await zombie.exited).toBe(3);
          zombieStopped = true;
          await feeding;
          expect(zombie.events.find((e) => e.event === 'fatal')?.message).toMatch(/group\.instance\.id .* fencing this one/);
          const outputs = await settle(input, output, 2);
          // The independent client (librdkafka) reads the same committed outcomes.
          const wire = kcat(['-X', 'isolation.level=read_committed', '-C', '-t', output, '-o', 'beginning', '-e', '-J', '-q']).trim().split('\n');
          expect(wire.map((line) => (JSON.parse(line) as KcatRecord).payload ?? '').filter((value) => !value.startsWith('out-sentinel-')).sort()).toEqual([...outputs].sort());
          expect(outputs).toHaveLength(inputs.length);
          expect(new Set(outputs)).toEqual(new Set(inputs.map((value) => `out-${value}`)));
          expect(lastAssignment(successor.events)?.partitions).toHaveLength(2);
          expect(successor.child.exitCode).toBeNull();
          successor.child.kill('SIGTERM');
          await successor.exited;
        }, 180_000);

        /** An in-process member of `group` that writes `out-<value>` for each input and records what it was assigned and what it decided. */
        const inProcess = (group: string, input: string, output: string, hold?: Promise<void>) => {
          const assignments: number[][] = [];
          const decided: InboundRecord[] = [];
          const member = client.exactlyOnce({
            groupId: group,
            groupProtocol,
            topic: input,
            logger,
            maxWaitTimeMs: 500,
            retry: { initialMs: 10, maxMs: 50 },
            handler: async (record) => {
              decided.push(record);
              if (hold !== undefined && record.value?.toString().startsWith('hold-') === true) await hold;
              return [message(output, record.key ?? '', `out-${record.value?.toString() ?? ''}`)];
            },
            onPermanentError: () => [],
            onAssigned: (partitions) => void assignments.push([...partitions]),
          });
          return { member, assignments, decided };
        };
        /** Whether each assignment after the first only gave partitions or only took some: none taken and given back. */
        const onlyMoved = (assignments: readonly number[][]): boolean =>
          assignments.slice(1).every((next, i) => {
            const previous = assignments[i] ?? [];
            return next.every((partition) => previous.includes(partition)) || previous.every((partition) => next.includes(partition));
          });

        it.runIf(groupProtocol === 'consumer')('a join and a leave move only the partitions that change hands: a kept partition’s record in flight is decided once, every input committed once', async () => {
          const [input, output] = [await topic(4), await topic()];
          const group = unique('contract-848');
          let release = (): void => undefined;
          const hold = new Promise<void>((resolve) => (release = resolve));
          const a = inProcess(group, input, output, hold);
          await a.member.start();
          await vi.waitFor(() => expect(a.assignments.at(-1)).toHaveLength(4), { timeout: 60_000, interval: 50 });
          const firstBatch = values(20, 'first');
          await publishAll(input, firstBatch, 4);
          await vi.waitFor(async () => expect((await readAll([output])).length).toBe(20), { timeout: 60_000, interval: 100 });
          // A record on every partition that A holds undecided while B joins.
          const held = keysForEveryPartition(4).map((key) => ({ key, partition: partitionOf(key, 4), value: `hold-${partitionOf(key, 4)}` }));
          await publish(held.map(({ key, value }) => message(input, key, value)));
          await vi.waitFor(() => expect(a.decided.filter((record) => record.value?.toString().startsWith('hold-'))).toHaveLength(4), { timeout: 60_000, interval: 20 });
          const b = inProcess(group, input, output, hold);
          await b.member.start();
          await vi.waitFor(() => expect([a.assignments.at(-1)?.length, b.assignments.at(-1)?.length]).toEqual([2, 2]), { timeout: 60_000, interval: 50 });
          const kept = a.assignments.at(-1) ?? [];
          release();
          const secondBatch = values(20, 'second');
          await publishAll(input, secondBatch, 4);
          const beforeLeave = await settle(input, output, 4);
          expect(beforeLeave).toHaveLength(20 + 4 + 20);
          // B leaves (a dynamic member's stop): A gets B's partitions and keeps its own.
          await b.member.stop();
          await vi.waitFor(() => expect(a.assignments.at(-1)).toHaveLength(4), { timeout: 60_000, interval: 50 });
          const thirdBatch = values(20, 'third');
          await publishAll(input, thirdBatch, 4);
          const outputs = await settle(input, output, 4);
          await a.member.stop();

          console.info(`KIP-848: A's assignments ${JSON.stringify(a.assignments)}, B's ${JSON.stringify(b.assignments)}`);
          expect(a.assignments.map((partitions) => partitions.length)).toEqual([4, 2, 4]);
          expect(onlyMoved(a.assignments)).toBe(true);
          expect([...kept, ...(b.assignments[0] ?? [])].sort()).toEqual([0, 1, 2, 3]);
          // A kept partition's held record was decided once, by A, across the join; a moved one's by A, then again by B.
          for (const { partition, value } of held) {
            const decisions = [...a.decided, ...b.decided].filter((record) => record.value?.toString() === value).length;
            expect([partition, decisions]).toEqual([partition, kept.includes(partition) ? 1 : 2]);
          }
          const expected = [...firstBatch, ...held.map(({ value }) => value), ...secondBatch, ...thirdBatch].map((value) => `out-${value}`);
          expect(outputs).toHaveLength(expected.length);
          expect(new Set(outputs)).toEqual(new Set(expected));
        }, 300_000);

        it.runIf(groupProtocol === 'consumer')('a static member SIGKILLed: its restart is refused while the dead incarnation holds the id, which the session timeout releases; nothing lost or doubled', async () => {
          const [input, output] = [await topic(4), await topic()];
          const group = unique('contract-848-static');
          const other = inProcess(group, input, output);
          await other.member.start();
          await vi.waitFor(() => expect(other.assignments.at(-1)).toHaveLength(4), { timeout: 60_000, interval: 50 });
          const settings = { group, input, output, instanceId: unique('worker'), sessionTimeoutMs: CONSUMER_GROUP_SESSION_TIMEOUT_MS };
          const first = spawn(settings);
          await vi.waitFor(() => expect([other.assignments.at(-1)?.length, lastAssignment(first.events)?.partitions?.length]).toEqual([2, 2]), { timeout: 90_000, interval: 50 });
          const firstBatch = values(20, 'first');
          await publishAll(input, firstBatch, 4);
          await vi.waitFor(() => expect(first.events.some((e) => e.event === 'committed')).toBe(true), { timeout: 60_000, interval: 50 });
          first.child.kill('SIGKILL');
          await first.exited;
          const killedAt = Date.now();
          // KIP-848 refuses the id to a new member until the old one leaves (epoch -2) or its session expires.
          const refused = spawn(settings);
          expect(await refused.exited).toBe(3);
          expect(refused.events.find((e) => e.event === 'fatal')?.message).toMatch(/holds group\.instance\.id/);
          const secondBatch = values(20, 'second');
          await publishAll(input, secondBatch, 4);
          // The session expires: the other member takes the dead one's partitions, keeping its own.
          await vi.waitFor(() => expect(other.assignments.at(-1)).toHaveLength(4), { timeout: CONSUMER_GROUP_SESSION_TIMEOUT_MS + 60_000, interval: 100 });
          const releasedMs = Date.now() - killedAt;
          const restarted = spawn(settings);
          await vi.waitFor(() => expect(lastAssignment(restarted.events)?.partitions).toHaveLength(2), { timeout: 90_000, interval: 50 });
          const outputs = await settle(input, output, 4);
          restarted.child.kill('SIGTERM');
          await restarted.exited;
          await other.member.stop();
          console.info(`KIP-848: a SIGKILLed static member's id released ${releasedMs} ms after the kill; the other member's assignments ${JSON.stringify(other.assignments)}`);
          expect(onlyMoved(other.assignments)).toBe(true);
          const expected = [...firstBatch, ...secondBatch].map((value) => `out-${value}`);
          expect(outputs).toHaveLength(expected.length);
          expect(new Set(outputs)).toEqual(new Set(expected));
        }, 300_000);

        it.runIf(groupProtocol === 'consumer')('a zombie (a static member frozen past its session) is fenced when it wakes: it stops, and the outputs hold each input once', async () => {
          const [input, output] = [await topic(2), await topic()];
          const group = unique('contract-848-zombie');
          const other = inProcess(group, input, output);
          await other.member.start();
          await vi.waitFor(() => expect(other.assignments.at(-1)).toHaveLength(2), { timeout: 60_000, interval: 50 });
          const settings = { group, input, output, instanceId: unique('worker'), sessionTimeoutMs: CONSUMER_GROUP_SESSION_TIMEOUT_MS };
          const zombie = spawn(settings);
          await vi.waitFor(() => expect([other.assignments.at(-1)?.length, lastAssignment(zombie.events)?.partitions?.length]).toEqual([1, 1]), { timeout: 90_000, interval: 50 });
          // Records keep coming, so the zombie is deciding and committing when it freezes.
          const inputs: string[] = [];
          let feed = true;
          const feeding = (async () => {
            for (let batch = 0; batch < 400 && feed; batch++) {
              const next = values(4, `zombie-${batch}`);
              inputs.push(...next);
              await publishAll(input, next, 2);
              await sleep(200);
            }
          })();
          await vi.waitFor(() => expect(zombie.events.some((e) => e.event === 'committed')).toBe(true), { timeout: 60_000, interval: 20 });
          zombie.child.kill('SIGSTOP');
          // Its session expires; the other member takes its partition, then a successor with its id joins.
          await vi.waitFor(() => expect(other.assignments.at(-1)).toHaveLength(2), { timeout: CONSUMER_GROUP_SESSION_TIMEOUT_MS + 60_000, interval: 100 });
          const successor = spawn(settings);
          await vi.waitFor(() => expect(lastAssignment(successor.events)?.partitions).toHaveLength(1), { timeout: 90_000, interval: 50 });
          await vi.waitFor(() => expect(successor.events.some((e) => e.event === 'committed')).toBe(true), { timeout: 60_000, interval: 20 });
          zombie.child.kill('SIGCONT');
          expect(await zombie.exited).toBe(3);
          feed = false;
          await feeding;
          expect(zombie.events.find((e) => e.event === 'fatal')?.message).toMatch(/group\.instance\.id .* fencing this one/);
          const outputs = await settle(input, output, 2);
          const wire = kcat(['-X', 'isolation.level=read_committed', '-C', '-t', output, '-o', 'beginning', '-e', '-J', '-q']).trim().split('\n');
          expect(wire.map((line) => (JSON.parse(line) as KcatRecord).payload ?? '').filter((value) => !value.startsWith('out-sentinel-')).sort()).toEqual([...outputs].sort());
          expect(outputs).toHaveLength(inputs.length);
          expect(new Set(outputs)).toEqual(new Set(inputs.map((value) => `out-${value}`)));
          expect(successor.child.exitCode).toBeNull();
          successor.child.kill('SIGTERM');
          await successor.exited;
          await other.member.stop();
        }, 300_000);
      });
    });

    describe('at-least-once processing', () => {
      it('hands every record to the handler and commits it, so a restarted group starts after it', async () => {
        const input = await topic(2);
        await publish(Array.from({ length: 6 }, (_, i) => message(input, `k${i % 2}`, `in-${i}`)));
        const groupId = unique('contract-alo');
        const seen: string[] = [];
        const consumer = client.atLeastOnce({ groupId, topic: input, logger, fromBeginning: true, handler: (r) => Promise.resolve(void seen.push(r.value?.toString() ?? '')) });
        await consumer.start();
        await vi.waitFor(() => expect(seen).toHaveLength(6), { timeout: 30_000, interval: 100 });
        await consumer.stop();
        expect(seen.sort()).toEqual(['in-0', 'in-1', 'in-2', 'in-3', 'in-4', 'in-5']);

        // One record after the restart on each partition: once both are seen, anything the group
        // had not committed would have come before them.
        await publish([message(input, 'k0', 'in-6'), message(input, 'k1', 'in-7')]);
        const again: string[] = [];
        const restarted = client.atLeastOnce({ groupId, topic: input, logger, fromBeginning: true, handler: (r) => Promise.resolve(void again.push(r.value?.toString() ?? '')) });
        await restarted.start();
        await vi.waitFor(() => expect(again).toHaveLength(2), { timeout: 30_000, interval: 100 });
        await restarted.stop();
        expect(again.sort()).toEqual(['in-6', 'in-7']);
      });

      it('never commits past a record whose handler failed: the member stops, and the next one starts at that record', async () => {
        const input = await topic();
        await publish(['in-0', 'in-1', 'in-2'].map((value) => message(input, 'k', value)));
        const groupId = unique('contract-alo-fails');
        const seen: string[] = [];
        const failing = client.atLeastOnce({
          groupId,
          topic: input,
          logger,
          fromBeginning: true,
          handler: (r) => {
            const value = r.value?.toString() ?? '';
            seen.push(value);
            return value === 'in-1' ? Promise.reject(new Error('the endpoint is down')) : Promise.resolve();
          },
        });
        const fatal: Error[] = [];
        failing.onFatal((error) => fatal.push(error));
        await failing.start();
        await vi.waitFor(() => expect(fatal.map((error) => error.message)).toEqual(['the endpoint is down']), { timeout: 30_000, interval: 100 });
        expect(failing.running).toBe(false);
        // More input after the failure: a member that went on would handle and commit it.
        await publish([message(input, 'k', 'in-3')]);

        const next: string[] = [];
        const successor = client.atLeastOnce({ groupId, topic: input, logger, fromBeginning: true, handler: (r) => Promise.resolve(void next.push(r.value?.toString() ?? '')) });
        await successor.start();
        await vi.waitFor(() => expect(next).toHaveLength(3), { timeout: 60_000, interval: 100 });
        await Promise.all([successor.stop(), failing.stop()]);
        expect(seen).toEqual(['in-0', 'in-1']);
        expect(next).toEqual(['in-1', 'in-2', 'in-3']);
      }, 90_000);
    });

    describe('broker offsets', () => {
      it('gives watermarks, offsets by time, and reads and sets a group’s committed offsets', async () => {
        const name = await topic();
        await publish([message(name, 'k', 'early')]);
        await sleep(50);
        const between = Date.now();
        await sleep(50);
        await publish([message(name, 'k', 'late-1'), message(name, 'k', 'late-2')]);
        const offsets = client.offsets();
        try {
          expect(await offsets.watermarks(name)).toEqual([{ partition: 0, low: 0, high: 3 }]);
          expect(await offsets.offsetsAtTime(name, between)).toEqual(new Map([[0, 1]]));
          expect(await offsets.offsetsAtTime(name, Date.now() + 60_000)).toEqual(new Map([[0, 3]]));
          const groupId = unique('contract-group');
          expect(await offsets.committed(groupId, name)).toEqual(new Map());
          await offsets.setCommitted(groupId, name, new Map([[0, 2]]));
          expect(await offsets.committed(groupId, name)).toEqual(new Map([[0, 2]]));
          await offsets.deleteGroup(groupId);
          expect(await offsets.committed(groupId, name)).toEqual(new Map());
        } finally {
          await offsets.close();
        }
      });
    });
  });
}
