/**
 * The local broker's secured listener (SASL_SSL with SCRAM-SHA-512 users and ACLs, made by
 * deploy/local/infra.sh): a wrong password, a client without TLS and a principal outside its ACLs
 * are refused, only the `topics` principal may make topics (`loomwatch topics apply`), and the
 * gateway and a worker, each as its own process with its own principal, move frames to verdicts
 * through it, which a replay as its own principal then decides again.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TOPIC_DECLARATIONS, Verdict, decodeMessage } from '@loomwatch/contracts';
import { REPO_ROOT, builtEntry, spawnNodeProcess, stopProcess } from '@loomwatch/testkit';
import { createKafkaClient } from './platformatic/client.js';
import type { KafkaClientConfig } from './ports.js';
import { useTestKafka } from './testing.js';

const kafka = useTestKafka();
const secure = kafka.infra.kafkaSecure;

function passwords(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line) => {
        const match = /^LOOMWATCH_KAFKA_PASSWORD_([A-Z_]+)=(.+)$/.exec(line);
        return match?.[1] === undefined || match[2] === undefined ? [] : [[match[1].toLowerCase(), match[2]]];
      }),
  );
}

/** The principals deploy/local/kafka/acls.txt grants rights to: infra.sh makes a SCRAM user for each. */
function declaredPrincipals(): string[] {
  const lines = readFileSync(`${REPO_ROOT}/deploy/local/kafka/acls.txt`, 'utf8').split('\n');
  return [...new Set(lines.filter((line) => /^[a-z]/.test(line)).map((line) => line.split(/\s+/)[0] ?? ''))].sort();
}

describe.skipIf(secure === undefined)('the secured listener (SASL_SSL, SCRAM-SHA-512, ACLs)', () => {
  const { brokers, caFile, principalsFile } = secure ?? { brokers: [], caFile: '', principalsFile: '' };
  const password = passwords(principalsFile);
  const as = (username: string, overrides: Partial<KafkaClientConfig> = {}): KafkaClientConfig => ({
    brokers,
    clientId: `secure-test-${username}`,
    tls: { caFile },
    sasl: { mechanism: 'SCRAM-SHA-512', username, password: password[username] ?? '' },
    connectionTimeoutMs: 3000,
    requestTimeoutMs: 5000,
    ...overrides,
  });

  it('refuses a wrong password, a client without TLS and a write outside the principal’s ACLs', async () => {
    expect(declaredPrincipals()).toEqual(expect.arrayContaining(['alerting', 'dashboard', 'drift', 'gateway', 'replay', 'topics', 'worker']));
    expect(Object.keys(password).sort()).toEqual(declaredPrincipals());

    const wrong = createKafkaClient(as('worker', { sasl: { mechanism: 'SCRAM-SHA-512', username: 'worker', password: 'not-the-password' } }));
    await expect(wrong.topics.list()).rejects.toMatchObject({ code: 'BROKER_AUTH_FAILED', message: expect.stringContaining('principal worker') as unknown });

    const plaintext = createKafkaClient(as('worker', { tls: undefined }));
    await expect(plaintext.topics.list()).rejects.toMatchObject({ code: 'BROKER_AUTH_FAILED' });

    // The worker may write verdicts, not alerts.
    const worker = createKafkaClient(as('worker')).publisher();
    await worker.connect();
    try {
      await expect(worker.send([{ topic: 'alerts.v1', key: 'l:c', value: Buffer.from('{}'), headers: {} }])).rejects.toMatchObject({ code: 'BROKER_ACCESS_DENIED', message: expect.stringContaining('TOPIC_AUTHORIZATION_FAILED') as unknown });
    } finally {
      await worker.close();
    }
  }, 120_000);

  it('lets only the topics principal make topics: a service’s create is refused, and `loomwatch topics apply --check` as topics reads every declared topic and its configs', async () => {
    const denied = `secure-test-${randomUUID().slice(0, 8)}`;
    await expect(createKafkaClient(as('gateway')).topics.ensure([{ topic: denied, numPartitions: 1 }])).rejects.toMatchObject({ code: 'BROKER_ACCESS_DENIED' });
    expect(await kafka.client.topics.list()).not.toContain(denied);

    const topicsCheck = (username: string) =>
      spawnSync(process.execPath, [builtEntry('services/inference-worker/dist/topics-cli.js'), 'apply', '--check', '--json', '--profile', 'dev'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, KAFKA_BROKERS: brokers.join(','), KAFKA_TLS_CA_FILE: caFile, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password[username] ?? '' },
      });
    // The shared broker's topics may differ from the declaration (exit 1), but every one is there and
    // described: a config the principal could not read would have failed the whole check.
    const asTopics = topicsCheck('topics');
    expect(asTopics.stderr).toBe('');
    expect([0, 1]).toContain(asTopics.status);
    const report = JSON.parse(asTopics.stdout) as { topics: { topic: string; status: string; actual: { partitions: number } | null }[] };
    expect(report.topics.map((t) => t.topic).sort()).toEqual(TOPIC_DECLARATIONS.map((declared) => declared.name).sort());
    for (const topic of report.topics) {
      expect(topic.status, topic.topic).not.toBe('missing');
      expect(topic.actual?.partitions, topic.topic).toBeGreaterThanOrEqual(1);
    }

    // A service principal may not read topic configs: the same check as the worker fails in one line.
    const asWorker = topicsCheck('worker');
    expect(asWorker.status).toBe(1);
    expect(asWorker.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^loomwatch topics apply: BROKER_ACCESS_DENIED: /)]);
  }, 120_000);

  it('carries frames from the gateway to a worker’s verdicts and a replay’s, each with its own principal', async () => {
    const firstSeq = Date.now();
    const workerId = `secure-${firstSeq}`;
    let ours: Verdict[] = [];
    const groupId = `loomwatch-inference.secure-${firstSeq}`;
    // The shared frames.v1 may hold earlier runs' frames: this group starts at its end.
    const admin = kafka.client.offsets();
    try {
      await kafka.client.topics.ensure([{ topic: 'frames.v1', numPartitions: 4 }]);
      const ends = await admin.watermarks('frames.v1');
      await admin.setCommitted(groupId, 'frames.v1', new Map(ends.map((end) => [end.partition, end.high])));
    } finally {
      await admin.close();
    }
    const tlsSettings = (username: string) => ({
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TLS_CA_FILE: caFile,
      KAFKA_SASL_USERNAME: username,
      KAFKA_SASL_PASSWORD: password[username],
      LOOMWATCH_OPS__PORT: 0,
      LOOMWATCH_LOG__LEVEL: 'warn',
    });
    const gateway = spawnNodeProcess({
      entry: 'services/camera-gateway/dist/main.js',
      args: ['simulate'],
      infra: kafka.infra,
      settings: { ...tlsSettings('gateway'), LOOMWATCH_SIMULATOR__LINES: 1, LOOMWATCH_SIMULATOR__CAMERAS_PER_LINE: 1, LOOMWATCH_SIMULATOR__FRAMES_PER_CAMERA: 2, LOOMWATCH_SIMULATOR__FPS: 0, LOOMWATCH_SIMULATOR__FIRST_SEQ: firstSeq },
    });
    const worker = spawnNodeProcess({
      entry: 'services/inference-worker/dist/main.js',
      infra: kafka.infra,
      settings: { ...tlsSettings('worker'), WORKER_ID: workerId, LOOMWATCH_MODEL: 'draem-random@0.0.1', LOOMWATCH_WORKER__GROUP_ID: groupId, LOOMWATCH_INFERENCE__INTRA_OP_NUM_THREADS: 1 },
    });
    try {
      const deadline = Date.now() + 90_000;
      while (ours.length < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const found: Verdict[] = [];
        await kafka.client.reader.readToEnd(['verdicts.v1'], (record) => {
          const verdict = decodeMessage(Verdict, record.value);
          if (verdict.workerId === workerId) found.push(verdict);
        });
        ours = found;
      }
      expect(ours.map((verdict) => verdict.seq).sort()).toEqual([firstSeq, firstSeq + 1]);
    } finally {
      await Promise.all([stopProcess(worker), stopProcess(gateway)]);
    }

    // The same frames decided again by `loomwatch replay run` as the replay principal: it reads
    // frames.v1 by time, keeps its plan on control.v1 and makes its own topic (verdicts.replay.…).
    const target = `verdicts.replay.secure-${firstSeq}`;
    try {
      const replay = spawnSync(
        process.execPath,
        [builtEntry('services/replay/dist/cli.js'), 'run', '--from', new Date(firstSeq - 1000).toISOString(), '--model', 'draem-random@0.0.1', '--to-topic', target, '--name', `secure-${firstSeq}`, '--json'],
        { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, KAFKA_BROKERS: brokers.join(','), KAFKA_TLS_CA_FILE: caFile, KAFKA_SASL_USERNAME: 'replay', KAFKA_SASL_PASSWORD: password['replay'] ?? '' } },
      );
      expect(replay.status, replay.stderr.slice(-2000)).toBe(0);
      const replayed: Verdict[] = [];
      await kafka.client.reader.readToEnd([target], (record) => void replayed.push(decodeMessage(Verdict, record.value)));
      const frameIds = (verdicts: readonly Verdict[]): string[] => verdicts.map((verdict) => verdict.frameId).sort();
      expect(frameIds(replayed.filter((verdict) => verdict.seq >= firstSeq && verdict.seq <= firstSeq + 1 && verdict.lineId === ours[0]?.lineId && verdict.cameraId === ours[0]?.cameraId))).toEqual(frameIds(ours));
    } finally {
      await kafka.client.topics.delete([target, `${target}.dlq`]).catch(() => undefined);
    }
  }, 300_000);
});

