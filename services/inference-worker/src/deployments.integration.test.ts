import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Verdict, decodeMessage, deploymentKey, type Deployment, type FrameEvent } from '@loomwatch/contracts';
import { fixedDeployment, sampleKey } from '@loomwatch/frame-pipeline';
import { publishTestFrames } from '@loomwatch/frame-pipeline/testing';
import { hasVnni, readCpuFlags } from '@loomwatch/model-registry';
import { int8Quantization, randomModelVersions } from '@loomwatch/model-registry/fixtures';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { createLogger } from '@loomwatch/observability';
import { useTestS3 } from '@loomwatch/storage/testing';
import { aitexFrames } from '@loomwatch/testkit';
import { WorkerConfig } from './config.js';
import { publishDeployment } from './rollout.js';
import { startWorker, type RunningWorker } from './worker.js';

const kafka = useTestKafka();
const s3 = useTestS3();
const logger = createLogger({ service: 'test', level: 'silent' });
// Two versions of the random model that disagree: 0.0.2's threshold calls every frame a defect.
// 0.0.3 has operating points: at 0.2 false alarms it calls every frame a defect, at 0.001 none.
const registry = randomModelVersions(
  [
    { version: '0.0.1' },
    {
      version: '0.0.2',
      patchCard: (card) => {
        const postprocess = card['postprocess'] as { imageThreshold: number; normalization: { min: number } };
        postprocess.imageThreshold = 1e-6;
        postprocess.normalization.min = 0;
      },
    },
    {
      version: '0.0.3',
      patchCard: (card) => {
        const postprocess = card['postprocess'] as { imageThreshold: number; operatingPoints?: unknown };
        const observed = { falseAlarms: 0, frames: 100, low: 0, high: 0.036 };
        const points = [
          { falseAlarmRate: 0.001, imageThreshold: 0.999999, observed },
          { falseAlarmRate: 0.05, imageThreshold: postprocess.imageThreshold, observed },
          { falseAlarmRate: 0.2, imageThreshold: 1e-6, observed },
        ];
        postprocess.operatingPoints = { frames: 100, source: 'test', points };
      },
    },
    // 0.0.4 has an INT8 variant that `auto` serves on a VNNI CPU (its card; the graph is the same).
    { version: '0.0.4' },
    {
      version: '0.0.4-int8',
      patchCard: (card) => void (card['quantization'] = int8Quantization('0.0.4')),
    },
  ],
  '0.0.1',
);
afterAll(() => registry.cleanup());
const cardThreshold = (version: string): number =>
  (JSON.parse(readFileSync(`${registry.root}/draem-random/${version}/model.json`, 'utf8')) as { postprocess: { imageThreshold: number } }).postprocess.imageThreshold;
const THRESHOLD = { '0.0.1': cardThreshold('0.0.1'), '0.0.2': cardThreshold('0.0.2') };

const IMAGE = readFileSync(aitexFrames()[0]?.path ?? '');

async function setUp() {
  const t = {
    frames: await kafka.topic({ partitions: 2, prefix: 'frames' }),
    verdicts: await kafka.topic({ partitions: 2, prefix: 'verdicts' }),
    shadow: await kafka.topic({ partitions: 2, prefix: 'shadow' }),
    dlq: await kafka.topic({ prefix: 'dlq' }),
    control: await kafka.topic({ prefix: 'control' }),
    frameBucket: await s3.bucket('frames'),
    outputBucket: await s3.bucket('results'),
  };
  const config = WorkerConfig.parse({
    kafka: { brokers: kafka.infra.kafkaBrokers },
    s3: s3.infra.s3,
    worker: {
      id: 'deployment-test',
      groupId: kafka.group(),
      inputTopic: t.frames,
      verdictTopic: t.verdicts,
      shadowVerdictTopic: t.shadow,
      deadLetterTopic: t.dlq,
      controlTopic: t.control,
      allowedBuckets: [t.frameBucket],
      outputBucket: t.outputBucket,
    },
    model: 'draem-random',
    inference: { intraOpNumThreads: 1, registryRoot: registry.root },
    ops: { port: 0 },
    log: { level: 'silent' },
  });
  let seq = 0;
  const publish = (lineId: string, count: number): Promise<FrameEvent[]> =>
    publishTestFrames(
      { client: kafka.client, store: s3.store, bucket: t.frameBucket, topic: t.frames },
      Array.from({ length: count }, () => ({ lineId, cameraId: 'cam-1', seq: seq++, image: IMAGE })),
    );
  const deploy = (d: Omit<Deployment, 'kind' | 'model' | 'updatedAt' | 'fabrics'>): Promise<void> =>
    publishDeployment(kafka.client, t.control, { ...fixedDeployment('draem-random', d.production), ...d });
  return { t, config, publish, deploy };
}

async function waitForRevision(worker: RunningWorker, revision: number, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (worker.deployment.revision < revision) {
    if (Date.now() - started > timeoutMs) throw new Error(`deployment revision ${revision} not in force after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const verdictsOf = async (topic: string, count: number): Promise<Verdict[]> =>
  (await kafka.readCommitted(topic, count)).map((m) => decodeMessage(Verdict, m.value));

describe('model deployments on the real broker', () => {
  it('switches version mid-stream: every frame decided once, by the version its verdict names, new frames by the new version', async () => {
    const { t, config, publish, deploy } = await setUp();
    const worker = await startWorker(config, logger);
    expect(worker.deployment).toMatchObject({ revision: 0, production: '0.0.1' }); // the registry's marker
    const before = await publish('line-1', 6);
    await verdictsOf(t.verdicts, 2); // the switch lands while frames are in flight
    await deploy({ revision: 1, production: '0.0.2' });
    await waitForRevision(worker, 1);
    const after = await publish('line-1', 6);
    const verdicts = await verdictsOf(t.verdicts, 12);
    await worker.stop();

    expect(verdicts.map((v) => v.frameId).sort()).toEqual([...before, ...after].map((f) => f.frameId).sort());
    for (const verdict of verdicts) {
      const version = verdict.model.version as keyof typeof THRESHOLD;
      expect(verdict.threshold).toBeCloseTo(THRESHOLD[version], 9);
      expect(verdict.anomalyMap.key).toContain(`/draem-random/${version}/`);
    }
    const byId = new Map(verdicts.map((v) => [v.frameId, v.model.version]));
    expect(after.map((f) => byId.get(f.frameId))).toEqual(after.map(() => '0.0.2'));
    expect(before.some((f) => byId.get(f.frameId) === '0.0.1')).toBe(true);
  });

  it("judges each line at the false-alarm rate the deployment gives it, and names that rate on the verdict", async () => {
    const { t, config, publish, deploy } = await setUp();
    await deploy({ revision: 1, production: '0.0.3', operatingPoint: { falseAlarmRate: 0.2, lines: { 'line-2': 0.001 } } });
    const worker = await startWorker(config, logger);
    const line1 = await publish('line-1', 3);
    const line2 = await publish('line-2', 3);
    const verdicts = await verdictsOf(t.verdicts, 6);
    await worker.stop();

    const byId = new Map(verdicts.map((v) => [v.frameId, v]));
    expect(line1.map((f) => byId.get(f.frameId))).toEqual(line1.map(() => expect.objectContaining({ falseAlarmRate: 0.2, threshold: 1e-6, verdict: 'defect' }) as unknown));
    expect(line2.map((f) => byId.get(f.frameId))).toEqual(line2.map(() => expect.objectContaining({ falseAlarmRate: 0.001, threshold: 0.999999, verdict: 'ok' }) as unknown));
  });

  it('routes canary lines to the candidate, shadows a sample to the shadow topic, and rolls back', async () => {
    const { t, config, publish, deploy } = await setUp();
    await deploy({ revision: 1, production: '0.0.1', canary: { version: '0.0.2', lines: ['line-2'], cameras: [] }, shadow: { version: '0.0.2', sample: 0.5 } });
    const worker = await startWorker(config, logger); // reads the deployment published before it started
    expect(worker.deployment.revision).toBe(1);
    const line1 = await publish('line-1', 8);
    const line2 = await publish('line-2', 4);
    const live = await verdictsOf(t.verdicts, 12);
    expect(live).toHaveLength(12);
    const expectedShadow = line1.filter((f) => sampleKey(f.frameId) < 0.5).map((f) => f.frameId);

    // An invalid control message is skipped; a rollback switches everything back to 0.0.1.
    await kafka.publish(t.control, [{ key: deploymentKey('draem-random'), value: '{"kind":"deployment"}' }]);
    await deploy({ revision: 2, production: '0.0.1' });
    await waitForRevision(worker, 2);
    const rolledBack = await publish('line-2', 2);
    const all = await verdictsOf(t.verdicts, 14);
    expect(all).toHaveLength(14);
    const shadow = await verdictsOf(t.shadow, expectedShadow.length);
    await worker.stop();

    const version = new Map(live.map((v) => [v.frameId, v.model.version]));
    expect(line1.map((f) => version.get(f.frameId))).toEqual(line1.map(() => '0.0.1'));
    expect(line2.map((f) => version.get(f.frameId))).toEqual(line2.map(() => '0.0.2'));
    expect(shadow.map((v) => v.frameId).sort()).toEqual(expectedShadow.sort());
    expect(shadow.every((v) => v.model.version === '0.0.2')).toBe(true);
    const afterRollback = all.filter((v) => rolledBack.some((f) => f.frameId === v.frameId));
    expect(afterRollback.map((v) => v.model.version)).toEqual(['0.0.1', '0.0.1']);
    expect(worker.deployment).toMatchObject({ revision: 2, production: '0.0.1' });
    expect(worker.deployment.canary).toBeUndefined();
  });

  it('runs a shadow at the precision the deployment pins, and its verdicts say which precision ran and which version was asked for', async () => {
    const { t, config, publish, deploy } = await setUp();
    await deploy({ revision: 1, production: '0.0.1', shadow: { version: '0.0.4', sample: 1 } });
    const worker = await startWorker(config, logger);
    try {
      const unpinned = await publish('line-1', 2);
      const autoShadow = await verdictsOf(t.shadow, 2);
      await deploy({ revision: 2, production: '0.0.1', shadow: { version: '0.0.4', sample: 1 }, precision: 'fp32' });
      await waitForRevision(worker, 2);
      const pinned = await publish('line-1', 2);
      const shadow = await verdictsOf(t.shadow, 4);
      const live = await verdictsOf(t.verdicts, 4);

      // `auto` (the worker's default): the INT8 variant on a VNNI CPU, said on the verdict.
      const vnni = hasVnni(await readCpuFlags());
      expect(autoShadow.map((v) => v.frameId).sort()).toEqual(unpinned.map((f) => f.frameId).sort());
      for (const verdict of autoShadow) {
        expect(verdict.model).toMatchObject(vnni ? { version: '0.0.4-int8', precision: 'int8', requested: '0.0.4' } : { version: '0.0.4', precision: 'fp32' });
      }
      // Pinned fp32: the version asked for, whatever the CPU.
      const pinnedShadow = shadow.filter((v) => pinned.some((f) => f.frameId === v.frameId));
      expect(pinnedShadow).toHaveLength(2);
      for (const verdict of pinnedShadow) {
        expect(verdict.model).toMatchObject({ name: 'draem-random', version: '0.0.4', precision: 'fp32' });
        expect(verdict.model.requested).toBeUndefined();
      }
      expect(live.map((v) => v.model)).toEqual(live.map(() => expect.objectContaining({ version: '0.0.1', precision: 'fp32' }) as unknown));
    } finally {
      await worker.stop();
    }
  });

  it('is not ready while its deployment watch has failed, follows again, and puts in force what was published meanwhile', async () => {
    const { t, config, deploy } = await setUp();
    const worker = await startWorker(config, logger);
    const readiness = async (): Promise<{ status: number; deployments: unknown }> => {
      const response = await fetch(`http://127.0.0.1:${worker.opsPort}/readyz`);
      return { status: response.status, deployments: ((await response.json()) as { checks: Record<string, unknown> }).checks['deployments'] };
    };
    try {
      await expect.poll(readiness, { timeout: 30_000, interval: 250 }).toEqual({ status: 200, deployments: true });
      // The control topic goes away under the watch: its follow fails for good.
      await kafka.client.topics.delete([t.control]);
      await expect.poll(readiness, { timeout: 60_000, interval: 250 }).toEqual({ status: 503, deployments: false });

      await kafka.client.topics.ensure([{ topic: t.control }]);
      await deploy({ revision: 1, production: '0.0.2' });
      await waitForRevision(worker, 1, 120_000);
      await expect.poll(readiness, { timeout: 30_000, interval: 250 }).toEqual({ status: 200, deployments: true });
      expect(worker.deployment).toMatchObject({ revision: 1, production: '0.0.2' });
    } finally {
      await worker.stop();
    }
  }, 240_000);
});
