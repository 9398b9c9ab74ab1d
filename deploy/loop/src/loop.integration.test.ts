/**
 * The small loop in `make test`: `runLoop`, the code path of `pnpm loop`, on the tests' Kafka, S3
 * and OpenID provider with fabric 01's validation normals 0005, 0014 and 0018_00_01 (a false alarm
 * of patchcore-aitex@1.2.0: 0.718 ≥ 0.675), the production parent 1.2.0 copied into a scratch
 * registry (no fit), one worker and a policy of one false alarm. Everything the run did is then read
 * back independently: the reviews on feedback.v1, the request's steps on the control topic through
 * snapshot and refit to its outcome, and the candidate's card with its lineage in the scratch
 * registry (the real `models/lw refit`: its gate may refuse, and the recorded outcome must be the
 * card's).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { Feedback, Lineage, RetrainRequest, decodeMessage } from '@loomwatch/contracts';
import { createKafkaClient } from '@loomwatch/kafka';
import { REPO_ROOT, aitexDir, testInfra } from '@loomwatch/testkit';
import { normalFrame } from './frames.js';
import { runLoop } from './run-loop.js';

const ROLL = '2608691-202020u';
const FRAMES = ['0005_000_01', '0014_000_01', '0018_00_01'];
const registry = mkdtempSync(join(tmpdir(), 'loop-registry-'));
const workDir = mkdtempSync(join(tmpdir(), 'loop-run-'));
/**
 * aitex-split-v1 with the validation frames of fabrics 00 and 01 only: the refit's gate scores its
 * validation frames with the whole network, and 16 frames instead of 88 keep the test near a minute.
 */
function smallSplit(): string {
  const base = JSON.parse(readFileSync(join(REPO_ROOT, 'models/splits/aitex-split-v1.json'), 'utf8')) as { validation: { fabric: string }[] };
  const file = join(workDir, 'aitex-loop-test.json');
  writeFileSync(file, JSON.stringify({ ...base, name: 'aitex-loop-test', validation: base.validation.filter((e) => e.fabric === '00' || e.fabric === '01') }));
  return file;
}

afterAll(() => {
  for (const dir of [registry, workDir]) rmSync(dir, { recursive: true, force: true });
});

describe('the review loop on the real broker, S3 and OpenID provider', () => {
  it('turns an operator\'s false alarm into a refit request that runs through snapshot and refit to the outcome the candidate\'s card records', async () => {
    const infra = testInfra();
    const lines: string[] = [];
    onTestFailed(() => {
      console.error(`the loop's lines:\n${lines.join('\n')}`);
      const log = join(workDir, 'logs/retrainer.log');
      if (existsSync(log)) console.error(`retrainer.log (end):\n${readFileSync(log, 'utf8').slice(-4000)}`);
    });
    const { result, topics, frameIds } = await runLoop({
      run: `loop-test-${Date.now()}`,
      infra,
      parent: 'patchcore-aitex@1.2.0',
      registry,
      split: smallSplit(),
      frames: FRAMES.map((name) => normalFrame(aitexDir(), `${ROLL}/${name}.png`, '01', ROLL)),
      workers: 1,
      falseAlarms: 1,
      workDir,
      verdictTimeoutSec: 120,
      retrainTimeoutSec: 150,
      replayWaitSec: 0,
      promote: false,
      log: (line) => lines.push(line),
    });

    // What the run counted: three frames of fabric 01, 0018_00_01 flagged and reviewed as a false alarm.
    expect(result.fabrics).toEqual([{ fabric: '01', frames: 3, flagged: 1, reviewed: 3, falseAlarms: 1, okConfirmed: 2 }]);

    // The reviews, read back from the feedback topic: one record per frame, by the signed-in operator.
    const kafka = createKafkaClient({ brokers: infra.kafkaBrokers, clientId: 'loop-test-reader' });
    const reviews: Feedback[] = [];
    await kafka.reader.readToEnd([topics.feedback], (record) => void reviews.push(decodeMessage(Feedback, record.value)));
    const labelOf = (name: string): string | undefined => reviews.find((r) => r.frameId === frameIds.get(name))?.label;
    expect(reviews).toHaveLength(3);
    expect(labelOf('0018_00_01')).toBe('false-alarm');
    expect([labelOf('0005_000_01'), labelOf('0014_000_01')]).toEqual(['ok-confirmed', 'ok-confirmed']);
    expect(new Set(reviews.map((r) => r.reviewer.name))).toEqual(new Set(['Otto Operator']));
    expect(reviews.every((r) => r.fabricCode === '01' && r.verdict.model.name === 'patchcore-aitex' && r.verdict.model.version === '1.2.0')).toBe(true);

    // The request on the control topic, step by step, from the policy to its outcome.
    const requests: RetrainRequest[] = [];
    await kafka.reader.readToEnd([topics.control], (record) => {
      if (record.key === 'retrain:patchcore-aitex:01' && record.value !== null) requests.push(decodeMessage(RetrainRequest, record.value));
    });
    const steps = requests.map((r) => r.status.step);
    expect(steps.slice(0, 3)).toEqual(['requested', 'snapshot', 'refit']);
    expect(new Set(requests.map((r) => r.id)).size).toBe(1);
    expect(requests[0]).toMatchObject({ reason: { kind: 'false-alarms', count: 1 }, requestedBy: 'retrain-policy', fabric: '01' });
    const end = requests.at(-1)?.status;
    if (end === undefined || !('version' in end) || !('snapshot' in end)) throw new Error(`the request ended without a candidate: ${JSON.stringify(end)}`);
    expect(['refused', 'shadow']).toContain(end.step);
    expect(result.outcomes).toEqual([{ key: 'retrain:patchcore-aitex:01', step: end.step, version: end.version, ...(end.step === 'refused' ? { reasons: end.reasons } : {}) }]);

    // The candidate in the scratch registry (never in models/registry), its lineage naming the parent and the snapshot.
    const version = end.version.split('@')[1] ?? '';
    expect(version).toMatch(/^1\.2\.0-refit\.[0-9a-f]{8}$/);
    expect(existsSync(join(REPO_ROOT, 'models/registry/patchcore-aitex', version))).toBe(false);
    const card = JSON.parse(readFileSync(join(registry, 'patchcore-aitex', version, 'model.json'), 'utf8')) as { lineage: unknown };
    const lineage = Lineage.parse(card.lineage);
    expect(lineage.parent).toEqual({ name: 'patchcore-aitex', version: '1.2.0' });
    expect(lineage.snapshot.id).toBe(end.snapshot);
    expect(lineage.counts.reviewed).toBe(3);
    // The outcome recorded on the control topic is the card's gate: refused with its reasons, or passed and in shadow.
    expect(lineage.gate.passed).toBe(end.step === 'shadow');
    if (end.step === 'refused') expect(end.reasons).toEqual(lineage.gate.reasons);
    expect(result.steps.map((s) => s.step)).toEqual(steps);
    expect(lines.some((line) => line.includes('signed in to the dashboard as Otto Operator (operator)'))).toBe(true);
  }, 240_000);
});
