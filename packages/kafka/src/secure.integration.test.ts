/**
 * The local broker's secured listener (SASL_SSL with SCRAM-SHA-512 users and ACLs, made by
 * deploy/local/infra.sh): a wrong password, a client without TLS and a principal outside its ACLs
 * are refused, while the gateway and a worker, each as its own process with its own principal,
 * move frames to verdicts through it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Verdict, decodeMessage } from '@loomwatch/contracts';
import { spawnNodeProcess, stopProcess } from '@loomwatch/testkit';
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
    expect(Object.keys(password).sort()).toEqual(['alerting', 'dashboard', 'drift', 'gateway', 'worker']);

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

  it('carries frames from the gateway to a worker’s verdicts, each service with its own principal', async () => {
    const firstSeq = Date.now();
    const workerId = `secure-${firstSeq}`;
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
      let ours: Verdict[] = [];
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
  }, 150_000);
});

