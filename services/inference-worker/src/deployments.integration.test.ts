import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Verdict, decodeMessage, deploymentKey, type Deployment, type FrameEvent } from '@loomwatch/contracts';
import { FramePublisher } from '@loomwatch/camera-gateway';
import { randomModelVersions } from '@loomwatch/inference/fixtures';
import { createLogger } from '@loomwatch/observability';
import { aitexFrames, useTestInfra } from '@loomwatch/testkit';
import { WorkerConfig } from './config.js';
import { fixedDeployment } from './model-pool.js';
import { publishDeployment } from './rollout.js';
import { sampleKey } from './routing.js';
import { startWorker, type RunningWorker } from './worker.js';

const ctx = useTestInfra();
const logger = createLogger({ service: 'test', level: 'silent' });
// Two versions of the random model that disagree: 0.0.2's threshold calls every frame a defect.
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
    frames: await ctx.topic({ partitions: 2, prefix: 'frames' }),
    verdicts: await ctx.topic({ partitions: 2, prefix: 'verdicts' }),
    shadow: await ctx.topic({ partitions: 2, prefix: 'shadow' }),
    dlq: await ctx.topic({ prefix: 'dlq' }),
    control: await ctx.topic({ prefix: 'control' }),
    frameBucket: await ctx.bucket('frames'),
    outputBucket: await ctx.bucket('results'),
  };
  const config = WorkerConfig.parse({
    kafka: { brokers: ctx.infra.kafkaBrokers },
    s3: ctx.infra.s3,
    worker: {
      id: 'deployment-test',
      groupId: ctx.group(),
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
  const producer = ctx.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const publisher = new FramePublisher({ store: ctx.store, producer, bucket: t.frameBucket, source: '/test', topic: t.frames });
  let seq = 0;
  const publish = (lineId: string, count: number): Promise<FrameEvent[]> =>
    Promise.all(
      Array.from({ length: count }, () =>
        publisher.publish({ lineId, cameraId: 'cam-1', seq: seq++, capturedAt: new Date(), image: IMAGE, width: 4096, height: 256, encoding: 'png' }),
      ),
    );
  const deploy = (d: Omit<Deployment, 'kind' | 'model' | 'updatedAt' | 'fabrics'>): Promise<void> =>
    publishDeployment(ctx.kafka, t.control, { ...fixedDeployment('draem-random', d.production), ...d }, registry.root);
  return { t, config, producer, publish, deploy };
}

async function waitForRevision(worker: RunningWorker, revision: number, timeoutMs = 30_000): Promise<number> {
  const started = Date.now();
  while (worker.deployment.revision < revision) {
    if (Date.now() - started > timeoutMs) throw new Error(`deployment revision ${revision} not in force after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

const verdictsOf = async (topic: string, count: number): Promise<Verdict[]> =>
  (await ctx.readCommitted(topic, count)).map((m) => decodeMessage(Verdict, m.value));

describe('model deployments on the real broker', () => {
  it('switches version mid-stream: every frame decided once, by the version its verdict names, new frames by the new version', async () => {
    const { t, config, producer, publish, deploy } = await setUp();
    const worker = await startWorker(config, logger);
    expect(worker.deployment).toMatchObject({ revision: 0, production: '0.0.1' }); // the registry's marker
    const before = await publish('line-1', 6);
    await verdictsOf(t.verdicts, 2); // the switch lands while frames are in flight
    await deploy({ revision: 1, production: '0.0.2' });
    const switchMs = await waitForRevision(worker, 1);
    const after = await publish('line-1', 6);
    const verdicts = await verdictsOf(t.verdicts, 12);
    await worker.stop();
    await producer.disconnect();

    expect(verdicts.map((v) => v.frameId).sort()).toEqual([...before, ...after].map((f) => f.frameId).sort());
    for (const verdict of verdicts) {
      const version = verdict.model.version as keyof typeof THRESHOLD;
      expect(verdict.threshold).toBeCloseTo(THRESHOLD[version], 9);
      expect(verdict.anomalyMap.key).toContain(`/draem-random/${version}/`);
    }
    const byId = new Map(verdicts.map((v) => [v.frameId, v.model.version]));
    expect(after.map((f) => byId.get(f.frameId))).toEqual(after.map(() => '0.0.2'));
    expect(before.some((f) => byId.get(f.frameId) === '0.0.1')).toBe(true);
    expect(switchMs).toBeLessThan(10_000);
    console.info(`deployment switch in force ${switchMs} ms after it was published`);
  });

  it('routes canary lines to the candidate, shadows a sample to the shadow topic, and rolls back', async () => {
    const { t, config, producer, publish, deploy } = await setUp();
    await deploy({ revision: 1, production: '0.0.1', canary: { version: '0.0.2', lines: ['line-2'], cameras: [] }, shadow: { version: '0.0.2', sample: 0.5 } });
    const worker = await startWorker(config, logger); // reads the deployment published before it started
    expect(worker.deployment.revision).toBe(1);
    const line1 = await publish('line-1', 8);
    const line2 = await publish('line-2', 4);
    const live = await verdictsOf(t.verdicts, 12);
    const expectedShadow = line1.filter((f) => sampleKey(f.frameId) < 0.5).map((f) => f.frameId);

    // An invalid control message is skipped; a rollback switches everything back to 0.0.1.
    await producer.send({ topic: t.control, messages: [{ key: deploymentKey('draem-random'), value: Buffer.from('{"kind":"deployment"}') }] });
    await deploy({ revision: 2, production: '0.0.1' });
    await waitForRevision(worker, 2);
    const rolledBack = await publish('line-2', 2);
    const all = await verdictsOf(t.verdicts, 14);
    const shadow = await verdictsOf(t.shadow, expectedShadow.length);
    await worker.stop();
    await producer.disconnect();

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
});
