/**
 * The retrainer on the real broker and S3, with the real `loomwatch dataset` and a fake refit
 * (a script that copies the parent's version directory into the candidate's): five false alarms
 * on fabric 01 make the policy ask, and the request goes requested → snapshot → refit →
 * candidate → shadow, the deployment on the control topic naming the candidate as shadow.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Deployment, Feedback, RetrainRequest, decodeMessage, encodeMessage, retrainKey, retrainPending } from '@loomwatch/contracts';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { copyRandomModel } from '@loomwatch/model-registry/fixtures';
import { createLogger } from '@loomwatch/observability';
import { useTestS3 } from '@loomwatch/storage/testing';
import { builtEntry, infraEnv } from '@loomwatch/testkit';
import { RetrainConfig } from './config.js';
import { startRetrainer } from './service.js';

const kafka = useTestKafka();
const s3 = useTestS3();
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** `refit --feedback DIR --parent name@version --version V --registry R`: checks the pulled manifest, copies the parent into V. */
const FAKE_REFIT = `
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const arg = (name) => process.argv[process.argv.indexOf(name) + 1];
if (!existsSync(join(arg('--feedback'), 'manifest.json'))) { console.error('no manifest.json in ' + arg('--feedback')); process.exit(2); }
const [name, parent] = arg('--parent').split('@');
const dir = join(arg('--registry'), name, arg('--version'));
cpSync(join(arg('--registry'), name, parent), dir, { recursive: true });
const card = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...card, version: arg('--version') }, null, 2));
console.log('gate passed: a candidate');
`;

describe('the retrainer on the real broker and S3', () => {
  it('turns five false alarms on a fabric into a refit candidate in shadow, recording every step', async () => {
    const [controlTopic, feedbackTopic] = await Promise.all([kafka.topic({ prefix: 'control' }), kafka.topic({ partitions: 2, prefix: 'feedback' })]);
    const [frameBucket, datasetBucket] = await Promise.all([s3.bucket('frames'), s3.bucket('datasets')]);
    const registry = copyRandomModel();
    const workDir = await mkdtemp(join(tmpdir(), 'retrainer-'));
    cleanups.push(() => Promise.resolve(registry.cleanup()), () => rm(workDir, { recursive: true, force: true }));
    const refit = join(workDir, 'fake-refit.mjs');
    await writeFile(refit, FAKE_REFIT);
    // The dataset subprocess reads Kafka and S3 from the environment, as under the service.
    Object.assign(process.env, infraEnv(kafka.infra));

    const model = registry.card['name'] as string;
    const reviews = [];
    for (let i = 0; i < 5; i++) {
      const image = randomBytes(1000);
      const frameId = `line-1.cam-1.${i}`;
      const ref = { bucket: frameBucket, key: `frames/line-1/cam-1/${frameId}.png` };
      await s3.store.put(ref, image, 'image/png');
      const feedback: Feedback = {
        feedbackId: `fb-${i}`,
        frameId,
        lineId: 'line-1',
        cameraId: 'cam-1',
        fabricCode: '01',
        image: { ...ref, sha256: createHash('sha256').update(image).digest('hex') },
        verdict: { verdict: 'defect', score: 0.9, threshold: 0.7, model: { name: model, version: '0.0.1', sha256: 'b'.repeat(64) }, decidedAt: '2026-12-07T10:00:00Z' },
        label: 'false-alarm',
        regions: [],
        reviewer: { subject: 'otto', name: 'otto' },
        reviewedAt: new Date(Date.UTC(2026, 11, 7, 11, i)).toISOString(),
        revision: 0,
        queue: 'flagged',
      };
      reviews.push({ key: 'line-1:cam-1', value: encodeMessage(Feedback, feedback) });
    }
    await kafka.publish(feedbackTopic, reviews);

    const config = RetrainConfig.parse({
      kafka: { brokers: kafka.infra.kafkaBrokers },
      retrain: { controlTopic, feedbackTopic, registryRoot: registry.root, workDir, datasetBucket, datasetCommand: [process.execPath, builtEntry('services/dataset/dist/cli.js')], refitCommand: [process.execPath, refit] },
      policy: { model, falseAlarms: 5 },
      ops: { port: 0 },
    });
    const service = await startRetrainer(config, createLogger({ service: 'retrainer-test', level: 'warn' }));
    cleanups.push(() => service.stop());

    const key = retrainKey(model, '01');
    const requests = async (): Promise<RetrainRequest[]> => (await kafka.readCommitted(controlTopic)).filter((r) => r.key === key && r.value !== null).map((r) => decodeMessage(RetrainRequest, r.value as Buffer));
    // Until the request ends, however it ends; then which end it is.
    await expect.poll(async () => retrainPending((await requests()).at(-1) ?? { status: { step: 'requested' } }), { timeout: 25_000, interval: 300 }).toBe(false);

    const recorded = await requests();
    expect(recorded.map((r) => r.status.step)).toEqual(['requested', 'snapshot', 'refit', 'candidate', 'shadow']);
    expect(new Set(recorded.map((r) => r.id)).size).toBe(1);
    expect(recorded[0]?.reason).toMatchObject({ kind: 'false-alarms', count: 5 });
    const end = recorded.at(-1)?.status;
    expect(end).toMatchObject({ step: 'shadow', version: expect.stringMatching(new RegExp(`^${model}@0\\.0\\.1-refit\\.[0-9a-f]{8}$`)), revision: 1 });
    const version = (end as { version: string }).version;
    expect(existsSync(join(registry.root, model, version.split('@')[1] ?? '', 'model.json'))).toBe(true);

    const deployments = (await kafka.readCommitted(controlTopic)).filter((r) => r.key === `deployment:${model}` && r.value !== null).map((r) => decodeMessage(Deployment, r.value as Buffer));
    expect(deployments).toHaveLength(1);
    expect(deployments[0]).toMatchObject({ model, revision: 1, production: '0.0.1', shadow: { version, sample: 0.1 } });
  }, 40_000);

  it('continues a request recorded at candidate from there after a restart: no new snapshot, one shadow revision on the deployment in force', async () => {
    const [controlTopic, feedbackTopic] = await Promise.all([kafka.topic({ prefix: 'control' }), kafka.topic({ prefix: 'feedback' })]);
    const datasetBucket = await s3.bucket('datasets');
    const registry = copyRandomModel();
    cleanups.push(() => Promise.resolve(registry.cleanup()));
    const model = registry.card['name'] as string;
    const at = '2026-12-07T12:00:00Z';
    const inForce: Deployment = { kind: 'deployment', model, revision: 3, production: '0.0.1', fabrics: {}, updatedAt: at };
    const candidate: RetrainRequest = {
      kind: 'retrain-request',
      id: 'r-restart',
      model,
      reason: { kind: 'manual' },
      requestedAt: at,
      requestedBy: 'eve',
      status: { step: 'candidate', snapshot: 'f'.repeat(64), version: `${model}@0.0.1` },
      updatedAt: at,
    };
    await kafka.publish(controlTopic, [
      { key: `deployment:${model}`, value: encodeMessage(Deployment, inForce) },
      { key: retrainKey(model, undefined), value: encodeMessage(RetrainRequest, candidate) },
    ]);
    const config = RetrainConfig.parse({
      kafka: { brokers: kafka.infra.kafkaBrokers },
      // A snapshot or refit would fail: neither command exists.
      retrain: { controlTopic, feedbackTopic, registryRoot: registry.root, datasetBucket, datasetCommand: ['/nonexistent/dataset'], refitCommand: ['/nonexistent/refit'] },
      ops: { port: 0 },
    });
    const service = await startRetrainer(config, createLogger({ service: 'retrainer-test', level: 'warn' }));
    cleanups.push(() => service.stop());

    const records = async () => (await kafka.readCommitted(controlTopic)).filter((r) => r.value !== null);
    await expect.poll(async () => (await records()).length, { timeout: 15_000, interval: 300 }).toBe(4);
    const [, , deployment, shadow] = await records();
    expect(decodeMessage(Deployment, deployment?.value as Buffer)).toMatchObject({ revision: 4, production: '0.0.1', shadow: { version: `${model}@0.0.1`, sample: 0.1 } });
    expect(decodeMessage(RetrainRequest, shadow?.value as Buffer).status).toEqual({ step: 'shadow', snapshot: 'f'.repeat(64), version: `${model}@0.0.1`, revision: 4 });
    expect(await s3.store.list(datasetBucket)).toEqual([]);
  }, 30_000);
});
