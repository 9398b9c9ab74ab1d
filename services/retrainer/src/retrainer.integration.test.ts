/**
 * The retrainer on the real broker and S3, with the real `loomwatch dataset` and `loomwatch
 * replay` and a fake refit (a script that copies the parent's version directory into the
 * candidate's, with a lineage): false alarms on two fabrics make the policy ask twice, and each
 * request goes requested → snapshot → refit → candidate → shadow → replayed, the second taking the
 * first's candidate (same snapshot, same parent). Then a request recorded at candidate continues
 * after a restart (`--once`, a fake replay) and the canary guard promotes it; and the drift policy
 * asks once for the fabric of an open drift alert (fake steps).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Alert, Deployment, DriftEvent, Feedback, RetrainRequest, Verdict, decodeMessage, encodeMessage, manualRetrainRequest, retrainKey, retrainPending, type FrameEvent } from '@loomwatch/contracts';
import { publishTestFrames } from '@loomwatch/frame-pipeline/testing';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { copyRandomModel } from '@loomwatch/model-registry/fixtures';
import { createLogger } from '@loomwatch/observability';
import { useTestS3 } from '@loomwatch/storage/testing';
import { aitexFrames, builtEntry, infraEnv, processExited } from '@loomwatch/testkit';
import { RetrainConfig } from './config.js';
import type { RetrainSteps } from './runner.js';
import { startRetrainer } from './service.js';

const kafka = useTestKafka();
const s3 = useTestS3();
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/**
 * `refit --feedback DIR --parent name@version --version V --registry R`: checks the pulled manifest,
 * copies the parent into V with a lineage (parent, snapshot, a passed gate) on its card; like
 * `models/lw refit`, refuses (exit 2, `[version-exists]`) a version already in the registry.
 */
const FAKE_REFIT = `
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const arg = (name) => process.argv[process.argv.indexOf(name) + 1];
const manifestPath = join(arg('--feedback'), 'manifest.json');
if (!existsSync(manifestPath)) { console.error('no manifest.json in ' + arg('--feedback')); process.exit(2); }
const [name, parent] = arg('--parent').split('@');
const dir = join(arg('--registry'), name, arg('--version'));
if (existsSync(join(dir, 'model.json'))) { console.error('refit refused [version-exists]: ' + dir + ' already holds a model'); process.exit(2); }
cpSync(join(arg('--registry'), name, parent), dir, { recursive: true });
const card = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const counts = { parent: 1, candidate: 0, frames: 1 };
const lineage = {
  parent: { name, version: parent },
  snapshot: { id: manifest.id },
  method: 'a copy of the parent (the retrainer test)',
  counts: { reviewed: manifest.entries.length, bankNormals: 0, heldOutNormals: 0, defects: 0, heldOutDefects: 0, patchesAdded: 0 },
  gate: { passed: true, reasons: [], validation: { parent: 0.5, candidate: 0.5, tolerance: 0.01, frames: 1 }, heldOut: { falseAlarms: counts, detected: { parent: 0, candidate: 0, frames: 0 } } },
};
writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...card, version: arg('--version'), lineage }, null, 2));
console.log('gate passed: a candidate');
`;

/** Real AITEX frames, two of fabric 01 and two of fabric 02, on the frames topic and in S3. */
async function publishFrames(topic: string, bucket: string): Promise<FrameEvent[]> {
  const files = aitexFrames()
    .filter((frame) => frame.roll !== undefined)
    .map((frame) => frame.path)
    .sort()
    .slice(0, 4);
  const frames = await Promise.all(files.map(async (file, i) => ({ lineId: 'line-1', cameraId: 'cam-1', seq: i, image: await readFile(file), fabricCode: i < 2 ? '01' : '02' })));
  return publishTestFrames({ client: kafka.client, store: s3.store, bucket, topic }, frames);
}

/** The live verdict the parent gave a frame: a defect (the false alarm the operator then marks). */
function liveVerdict(frame: FrameEvent, model: string, bucket: string): Verdict {
  return {
    frameId: frame.frameId,
    lineId: frame.lineId,
    cameraId: frame.cameraId,
    seq: frame.seq,
    capturedAt: frame.capturedAt,
    decidedAt: '2026-12-07T10:00:00Z',
    verdict: 'defect',
    score: 0.9,
    normalizedScore: 0.9,
    threshold: 0.7,
    ...(frame.product?.fabricCode === undefined ? {} : { fabricCode: frame.product.fabricCode }),
    regions: [],
    model: { name: model, version: '0.0.1', sha256: 'b'.repeat(64) },
    anomalyMap: { bucket, key: `maps/${frame.frameId}.png` },
    overlay: { bucket, key: `overlays/${frame.frameId}.png` },
    inputStats: { mean: 120, std: 20, min: 0, max: 255, histogram: [1] },
    timings: {},
    workerId: 'worker-1',
  };
}

/** A false alarm an operator marked on a frame the parent flagged. */
function falseAlarm(frame: FrameEvent, model: string, i: number): Feedback {
  return {
    feedbackId: `fb-${i}`,
    frameId: frame.frameId,
    lineId: frame.lineId,
    cameraId: frame.cameraId,
    fabricCode: frame.product?.fabricCode ?? '01',
    image: { bucket: frame.image.bucket, key: frame.image.key, sha256: frame.image.sha256 },
    verdict: { verdict: 'defect', score: 0.9, threshold: 0.7, model: { name: model, version: '0.0.1', sha256: 'b'.repeat(64) }, decidedAt: '2026-12-07T10:00:00Z' },
    label: 'false-alarm',
    regions: [],
    reviewer: { subject: 'otto', name: 'otto' },
    reviewedAt: new Date(Date.UTC(2026, 11, 7, 11, i)).toISOString(),
    revision: 0,
    queue: 'flagged',
  };
}

describe('the retrainer on the real broker and S3', () => {
  it('turns false alarms on two fabrics into one candidate in shadow, replayed over the reviewed frames with its report in S3, recording every step', async () => {
    const [controlTopic, feedbackTopic, framesTopic, verdictsTopic, dlqTopic] = await Promise.all([
      kafka.topic({ prefix: 'control' }),
      kafka.topic({ partitions: 2, prefix: 'feedback' }),
      kafka.topic({ prefix: 'frames' }),
      kafka.topic({ prefix: 'verdicts' }),
      kafka.topic({ prefix: 'dlq' }),
    ]);
    const [frameBucket, resultBucket, datasetBucket, reportBucket] = await Promise.all([s3.bucket('frames'), s3.bucket('results'), s3.bucket('datasets'), s3.bucket('reports')]);
    const registry = copyRandomModel();
    const workDir = await mkdtemp(join(tmpdir(), 'retrainer-'));
    cleanups.push(() => Promise.resolve(registry.cleanup()), () => rm(workDir, { recursive: true, force: true }));
    const refit = join(workDir, 'fake-refit.mjs');
    await writeFile(refit, FAKE_REFIT);
    // The dataset and replay subprocesses read Kafka, S3 and the worker's settings from the environment, as under the service.
    Object.assign(process.env, infraEnv(kafka.infra), {
      LOOMWATCH_INFERENCE__INTRA_OP_NUM_THREADS: '1',
      LOOMWATCH_WORKER__VERDICT_TOPIC: verdictsTopic,
      LOOMWATCH_WORKER__DEAD_LETTER_TOPIC: dlqTopic,
      LOOMWATCH_WORKER__ALLOWED_BUCKETS: frameBucket,
      LOOMWATCH_WORKER__OUTPUT_BUCKET: resultBucket,
    });

    const model = registry.card['name'] as string;
    const frames = await publishFrames(framesTopic, frameBucket);
    await kafka.publish(
      verdictsTopic,
      frames.map((frame) => ({ key: 'line-1:cam-1', value: encodeMessage(Verdict, liveVerdict(frame, model, resultBucket)) })),
    );
    await kafka.publish(
      feedbackTopic,
      frames.map((frame, i) => ({ key: 'line-1:cam-1', value: encodeMessage(Feedback, falseAlarm(frame, model, i)) })),
    );

    const config = RetrainConfig.parse({
      kafka: { brokers: kafka.infra.kafkaBrokers },
      s3: s3.infra.s3,
      retrain: {
        controlTopic,
        feedbackTopic,
        framesTopic,
        verdictsTopic,
        registryRoot: registry.root,
        workDir,
        datasetBucket,
        reportBucket,
        datasetCommand: [process.execPath, builtEntry('services/dataset/dist/cli.js')],
        refitCommand: [process.execPath, refit],
        replayCommand: [process.execPath, builtEntry('services/replay/dist/cli.js')],
      },
      policy: { model, falseAlarms: 2 },
      ops: { port: 0 },
    });
    const started = Date.now();
    const service = await startRetrainer(config, createLogger({ service: 'retrainer-test', level: 'warn' }));
    cleanups.push(() => service.stop());

    const requests = async (fabric: string): Promise<RetrainRequest[]> =>
      (await kafka.readCommitted(controlTopic)).filter((r) => r.key === retrainKey(model, fabric) && r.value !== null).map((r) => decodeMessage(RetrainRequest, r.value as Buffer));
    const ended = async (fabric: string): Promise<boolean> => !retrainPending((await requests(fabric)).at(-1) ?? { status: { step: 'requested' } });
    // Until both requests end, however they end; then which end it is.
    await expect.poll(async () => (await ended('01')) && (await ended('02')), { timeout: 100_000, interval: 500 }).toBe(true);
    console.log(`retrainer: two requests (4 reviewed frames each) from the policy to replayed in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const [one, two] = [await requests('01'), await requests('02')];
    // The replay step's time: from the shadow record to the replayed one (replay run + report + upload).
    const stepSeconds = (recorded: RetrainRequest[], from: string, to: string): string =>
      ((Date.parse(recorded.find((r) => r.status.step === to)?.updatedAt ?? '') - Date.parse(recorded.find((r) => r.status.step === from)?.updatedAt ?? '')) / 1000).toFixed(1);
    console.log(`retrainer: replay step over 4 reviewed frames ${stepSeconds(one, 'shadow', 'replayed')} s and ${stepSeconds(two, 'shadow', 'replayed')} s; refit step (fake refit, then the registered candidate) ${stepSeconds(one, 'refit', 'candidate')} s and ${stepSeconds(two, 'refit', 'candidate')} s`);
    for (const recorded of [one, two]) {
      expect(recorded.map((r) => r.status.step)).toEqual(['requested', 'snapshot', 'refit', 'candidate', 'shadow', 'replayed']);
      expect(new Set(recorded.map((r) => r.id)).size).toBe(1);
      expect(recorded[0]?.reason).toMatchObject({ kind: 'false-alarms', count: 2 });
    }
    const [end1, end2] = [one.at(-1)?.status, two.at(-1)?.status];
    if (end1?.step !== 'replayed' || end2?.step !== 'replayed') throw new Error('both requests should end replayed');
    // The same snapshot and parent: the second request takes the registered candidate instead of refitting (no version-exists).
    expect(end1.version).toMatch(new RegExp(`^${model}@0\\.0\\.1-refit\\.[0-9a-f]{8}$`));
    expect(end2.version).toBe(end1.version);
    expect(end2.snapshot).toBe(end1.snapshot);
    expect(existsSync(join(registry.root, model, end1.version.split('@')[1] ?? '', 'model.json'))).toBe(true);

    // The replay decided the four reviewed frames; the live verdicts flagged each, the reviews say each is normal.
    for (const end of [end1, end2]) {
      expect(end.reasons).toEqual(['no guard configured (guard.stage none): an engineer promotes it with loomwatch rollout set']);
      expect(end.check).toMatchObject({ replayTopic: `verdicts.replay.${model}.${end1.version.split('@')[1] ?? ''}`, frames: 4, normals: { reviewed: 4, parentFlagged: 4 }, defects: { reviewed: 0, parentFlagged: 0, candidateFlagged: 0 } });
      expect(end.check.normals.candidateFlagged).toBeLessThanOrEqual(4);
      const requestId = (end === end1 ? one : two)[0]?.id ?? '';
      expect(end.check.report).toEqual({ bucket: reportBucket, key: `retrain/${requestId}/report/index.html` });
      const html = (await s3.store.get(end.check.report)).toString('utf8');
      expect(html).toContain('<html');
      expect(await s3.store.list(reportBucket, `retrain/${requestId}/report/`)).toEqual(expect.arrayContaining([`retrain/${requestId}/report/index.html`, `retrain/${requestId}/report/report.json`]));
    }

    const deployments = (await kafka.readCommitted(controlTopic)).filter((r) => r.key === `deployment:${model}` && r.value !== null).map((r) => decodeMessage(Deployment, r.value as Buffer));
    expect(deployments.map((d) => d.revision)).toEqual([1, 2]);
    expect(deployments[0]).toMatchObject({ model, revision: 1, production: '0.0.1', shadow: { version: end1.version, sample: 0.1 } });
    expect(deployments.every((d) => d.canary === undefined)).toBe(true);
  }, 120_000);

  it('continues a request recorded at candidate from there after a restart, and the canary guard promotes the replayed candidate', async () => {
    const [controlTopic, feedbackTopic] = await Promise.all([kafka.topic({ prefix: 'control' }), kafka.topic({ prefix: 'feedback' })]);
    const [datasetBucket, reportBucket] = await Promise.all([s3.bucket('datasets'), s3.bucket('reports')]);
    const registry = copyRandomModel();
    const workDir = await mkdtemp(join(tmpdir(), 'retrainer-'));
    cleanups.push(() => Promise.resolve(registry.cleanup()), () => rm(workDir, { recursive: true, force: true }));
    const model = registry.card['name'] as string;
    const at = '2026-12-07T12:00:00Z';
    const snapshot = 'f'.repeat(64);
    // The snapshot was pulled before the restart: the replay reads its frame ids from there.
    await mkdir(join(workDir, snapshot), { recursive: true });
    await writeFile(join(workDir, snapshot, 'manifest.json'), JSON.stringify(pulledManifest(snapshot, model, ['f-1', 'f-2', 'f-3'])));
    const replay = join(workDir, 'fake-replay.mjs');
    await writeFile(replay, FAKE_REPLAY);
    const inForce: Deployment = { kind: 'deployment', model, revision: 3, production: '0.0.1', fabrics: {}, updatedAt: at };
    const candidate: RetrainRequest = {
      kind: 'retrain-request',
      id: 'r-restart',
      model,
      reason: { kind: 'manual' },
      requestedAt: at,
      requestedBy: 'eve',
      status: { step: 'candidate', snapshot, version: `${model}@0.0.1` },
      updatedAt: at,
    };
    await kafka.publish(controlTopic, [
      { key: `deployment:${model}`, value: encodeMessage(Deployment, inForce) },
      { key: retrainKey(model, undefined), value: encodeMessage(RetrainRequest, candidate) },
    ]);
    Object.assign(process.env, infraEnv(kafka.infra));
    const config = RetrainConfig.parse({
      kafka: { brokers: kafka.infra.kafkaBrokers },
      s3: s3.infra.s3,
      // A snapshot or refit would fail: neither command exists.
      retrain: { controlTopic, feedbackTopic, registryRoot: registry.root, workDir, datasetBucket, reportBucket, datasetCommand: ['/nonexistent/dataset'], refitCommand: ['/nonexistent/refit'], replayCommand: [process.execPath, replay] },
      guard: { stage: 'canary', canaryLines: ['line-2'] },
      ops: { port: 0 },
    });
    const service = await startRetrainer(config, createLogger({ service: 'retrainer-test', level: 'warn' }), { once: true });
    cleanups.push(() => service.stop());
    // --once: the pending request runs to its end, then the service says it is drained.
    await service.drained;

    const records = (await kafka.readCommitted(controlTopic)).filter((r) => r.value !== null);
    expect(records.map((r) => r.key)).toEqual([`deployment:${model}`, retrainKey(model, undefined), `deployment:${model}`, retrainKey(model, undefined), `deployment:${model}`, retrainKey(model, undefined)]);
    const [shadowDeployment, shadow, canaryDeployment, promoted] = records.slice(2).map((r, i) => (i % 2 === 0 ? decodeMessage(Deployment, r.value as Buffer) : decodeMessage(RetrainRequest, r.value as Buffer)));
    expect(shadowDeployment).toMatchObject({ revision: 4, production: '0.0.1', shadow: { version: `${model}@0.0.1`, sample: 0.1 } });
    expect((shadow as RetrainRequest).status).toEqual({ step: 'shadow', snapshot, version: `${model}@0.0.1`, revision: 4 });
    // The canary extends the shadow's revision: the shadow stays, the canary decides line-2.
    expect(canaryDeployment).toMatchObject({ revision: 5, production: '0.0.1', shadow: { version: `${model}@0.0.1` }, canary: { version: `${model}@0.0.1`, lines: ['line-2'], cameras: [] } });
    const check = { replayTopic: `verdicts.replay.${model}.0.0.1`, report: { bucket: reportBucket, key: 'retrain/r-restart/report/index.html' }, frames: 3, normals: { reviewed: 3, parentFlagged: 3, candidateFlagged: 0 }, defects: { reviewed: 0, parentFlagged: 0, candidateFlagged: 0 } };
    expect((promoted as RetrainRequest).status).toEqual({ step: 'promoted', snapshot, version: `${model}@0.0.1`, revision: 5, check, stage: 'canary', by: 'retrain-guard' });
    // The fake replay was given the three frame ids of the pulled manifest and a name of the request's.
    expect((await s3.store.get(check.report)).toString('utf8')).toMatch(/^<html><body>3 frames of retrain-[0-9a-f]{12} on verdicts\.replay\./);
    expect(await s3.store.list(datasetBucket)).toEqual([]);
  }, 30_000);

  it('with policy.drift, asks for a refit of the fabric an open drift alert is about, once, and runs it (fake steps) under --once', async () => {
    const [controlTopic, feedbackTopic, alertsTopic, driftTopic] = await Promise.all([kafka.topic({ prefix: 'control' }), kafka.topic({ prefix: 'feedback' }), kafka.topic({ prefix: 'alerts' }), kafka.topic({ prefix: 'drift' })]);
    const model = 'patchcore-aitex';
    const judgement: DriftEvent = {
      lineId: 'line-1',
      cameraId: 'cam-1',
      fabricCode: '05',
      status: 'drifting',
      tripped: ['input-psi'],
      measures: [{ check: 'input-psi', value: 0.4, threshold: 0.25, tripped: true, frames: 200 }],
      window: { frames: 200, firstFrameId: 'f1', lastFrameId: 'f200', from: '2026-12-07T10:50:00Z', to: '2026-12-07T11:00:00Z' },
      reference: { model, version: '1.2.0', split: 'fabric:05', scope: 'fabric' },
      evaluatedAt: '2026-12-07T11:00:00Z',
      monitorId: 'drift-1',
    };
    const opened: Alert = {
      alertId: 'alert-drift-1',
      dedupKey: 'drift:line-1:cam-1',
      rule: 'drift',
      kind: 'drift',
      status: 'open',
      severity: 'warning',
      lineId: 'line-1',
      cameraId: 'cam-1',
      message: 'drift on line-1/cam-1 (fabric 05): input-psi 0.400 beyond 0.250',
      openedAt: '2026-12-07T11:00:00Z',
      updatedAt: '2026-12-07T11:00:00Z',
      frameIds: ['f200'],
      anomalyMaps: [],
      revision: 0,
    };
    // A second alert, resolved: it asks for nothing.
    const resolved: Alert = { ...opened, alertId: 'alert-drift-0', cameraId: 'cam-2', status: 'resolved', resolvedAt: '2026-12-07T10:30:00Z', revision: 1 };
    await kafka.publish(driftTopic, [{ key: 'line-1:cam-1', value: encodeMessage(DriftEvent, judgement) }, { key: 'line-1:cam-2', value: encodeMessage(DriftEvent, { ...judgement, cameraId: 'cam-2', fabricCode: '06' }) }]);
    await kafka.publish(alertsTopic, [{ key: 'line-1:cam-1', value: encodeMessage(Alert, opened) }, { key: 'line-1:cam-2', value: encodeMessage(Alert, resolved) }]);
    const config = RetrainConfig.parse({
      kafka: { brokers: kafka.infra.kafkaBrokers },
      retrain: { controlTopic, feedbackTopic, alertsTopic, driftTopic },
      policy: { model, drift: true },
      ops: { port: 0 },
    });
    const check = { replayTopic: `verdicts.replay.${model}.1.2.0-refit.abcdef01`, report: { bucket: 'loomwatch-datasets', key: 'retrain/r/report/index.html' }, frames: 1, normals: { reviewed: 1, parentFlagged: 1, candidateFlagged: 1 }, defects: { reviewed: 0, parentFlagged: 0, candidateFlagged: 0 } };
    const fake = (): RetrainSteps => ({
      snapshot: () => Promise.resolve('abcdef0123456789'),
      parent: () => Promise.resolve(`${model}@1.2.0`),
      refit: () => Promise.resolve({ passed: true }),
      shadow: () => Promise.resolve(1),
      replay: () => Promise.resolve(check),
      canary: () => Promise.reject(new Error('no guard: never promoted')),
    });
    const first = await startRetrainer(config, createLogger({ service: 'retrainer-test', level: 'warn' }), { once: true, steps: fake });
    await first.drained;
    await first.stop();
    // A second run reads the same alert again: the request it answered is there, so it asks nothing more.
    const second = await startRetrainer(config, createLogger({ service: 'retrainer-test', level: 'warn' }), { once: true, steps: fake });
    await second.drained;
    await second.stop();

    const recorded = (await kafka.readCommitted(controlTopic)).filter((r) => r.value !== null);
    expect(new Set(recorded.map((r) => r.key))).toEqual(new Set([retrainKey(model, '05')]));
    const requests = recorded.map((r) => decodeMessage(RetrainRequest, r.value as Buffer));
    expect(new Set(requests.map((r) => r.id)).size).toBe(1);
    expect(requests[0]).toMatchObject({ fabric: '05', reason: { kind: 'drift', alertId: 'alert-drift-1' }, requestedBy: 'retrain-policy' });
    expect(requests.map((r) => r.status.step)).toEqual(['requested', 'snapshot', 'refit', 'candidate', 'shadow', 'replayed']);
  }, 30_000);

  it('loomwatch retrain run --once exits 0 when no request is pending', async () => {
    const controlTopic = await kafka.topic({ prefix: 'control' });
    const ended: RetrainRequest = { ...manualRetrainRequest('patchcore-aitex', '01', 'eve', new Date('2026-12-07T12:00:00Z')), status: { step: 'failed', code: 'REFIT_FAILED', message: 'exit 3' } };
    await kafka.publish(controlTopic, [{ key: retrainKey('patchcore-aitex', '01'), value: encodeMessage(RetrainRequest, ended) }]);
    const child = spawn(process.execPath, [builtEntry('services/retrainer/dist/cli.js'), 'run', '--once', '--set', `retrain.controlTopic=${controlTopic}`, '--set', 'ops.port=0'], {
      env: { ...process.env, ...infraEnv(kafka.infra) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await processExited(child);
    expect(child.exitCode, stderr).toBe(0);
    // Nothing was run: the ended request is the topic's only record.
    expect((await kafka.readCommitted(controlTopic)).length).toBe(1);
  }, 30_000);
});

/** A data set manifest as `loomwatch dataset pull` writes it, one false alarm per frame id. */
function pulledManifest(id: string, model: string, frameIds: string[]): Record<string, unknown> {
  return {
    id,
    createdAt: '2026-12-07T11:00:00Z',
    source: { topic: 'feedback.v1', offsets: { '0': frameIds.length } },
    entries: frameIds.map((frameId) => ({
      frameId,
      lineId: 'line-1',
      cameraId: 'cam-1',
      fabricCode: '01',
      image: { bucket: 'loomwatch-frames', key: `frames/${frameId}.png`, sha256: 'c'.repeat(64) },
      label: 'false-alarm',
      regions: [],
      reviewers: ['otto'],
      feedbackId: `fb-${frameId}`,
      revision: 0,
      queue: 'flagged',
      verdict: { verdict: 'defect', score: 0.9, threshold: 0.7, model: { name: model, version: '0.0.1', sha256: 'b'.repeat(64) } },
      path: `normal/01/${frameId}.png`,
    })),
  };
}

/**
 * `replay run … --frame-ids F --name N --json` and `replay report … --out D --json`, as far as the
 * retrainer uses them: the run notes how many ids it was given, the report writes report.html
 * (naming them) and prints the reviewed figures — every reviewed normal no longer flagged.
 */
const FAKE_REPLAY = `
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const [command, ...args] = process.argv.slice(2);
const arg = (name) => args[args.indexOf(name) + 1];
const note = join(dirname(fileURLToPath(import.meta.url)), 'fake-replay.json');
if (command === 'run') {
  const ids = readFileSync(arg('--frame-ids'), 'utf8').trim().split('\\n');
  const [name, version] = arg('--model').split('@');
  writeFileSync(note, JSON.stringify({ frames: ids.length, name: arg('--name') }));
  console.log(JSON.stringify({ id: arg('--name'), status: 'complete', targetTopic: 'verdicts.replay.' + name + '.' + version }));
} else {
  const { frames, name } = JSON.parse(readFileSync(note, 'utf8'));
  const out = arg('--out');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'report.html'), '<html><body>' + frames + ' frames of ' + name + ' on ' + arg('--replay-topic') + ', reviews from ' + arg('--feedback-topic') + '</body></html>');
  writeFileSync(join(out, 'report.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  const reviewed = { frames, normals: { reviewed: frames, parentFlagged: frames, candidateFlagged: 0 }, defects: { reviewed: 0, parentFlagged: 0, candidateFlagged: 0 } };
  writeFileSync(join(out, 'report.json'), JSON.stringify({ reviewed }));
  console.log(JSON.stringify({ files: { summary: join(out, 'report.html') }, reviewed }));
}
`;
