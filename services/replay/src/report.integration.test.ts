import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Feedback, FrameEvent, Verdict, encodeMessage, messageKey, type FeedbackLabel } from '@loomwatch/contracts';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { runReportCommand, type ReportJsonLine } from './report-cli.js';
import type { ReplayReport } from './report-model.js';

const kafka = useTestKafka();

interface Crafted {
  frameId: string;
  lineId: string;
  cameraId: string;
  verdict: 'ok' | 'defect';
  score: number;
  version: string;
  decidedAt?: string;
}

function verdict(c: Crafted): Buffer {
  return encodeMessage(Verdict, {
    frameId: c.frameId,
    lineId: c.lineId,
    cameraId: c.cameraId,
    seq: 1,
    capturedAt: '2026-11-22T10:00:00.000Z',
    decidedAt: c.decidedAt ?? '2026-11-22T10:00:01.000Z',
    verdict: c.verdict,
    score: c.score,
    normalizedScore: c.score,
    threshold: 0.5,
    regions: [],
    model: { name: 'draem-aitex', version: c.version, sha256: 'a'.repeat(64) },
    anomalyMap: { bucket: 'results', key: `maps/${c.frameId}.png` },
    overlay: { bucket: 'results', key: `overlays/${c.frameId}.jpg` },
    inputStats: { mean: 100, std: 10, min: 0, max: 255, histogram: [1] },
    timings: {},
    workerId: 'worker-test',
  });
}

function frame(frameId: string, lineId: string, cameraId: string, defectCode: string, fabricCode: string): Buffer {
  return encodeMessage(FrameEvent, {
    frameId,
    lineId,
    cameraId,
    seq: 1,
    capturedAt: '2026-11-22T10:00:00.000Z',
    image: { bucket: 'frames', key: `frames/${frameId}.png`, width: 4096, height: 256, encoding: 'png', bytes: 1000, sha256: 'b'.repeat(64) },
    product: { fabricCode },
    attributes: { aitexDefectCode: defectCode },
  });
}

/** A review of frame `frameId` (of line-1:cam-1), revision `revision`. */
function review(frameId: string, label: FeedbackLabel, revision: number, feedbackId = `${frameId}-r${revision}`): Buffer {
  return encodeMessage(Feedback, {
    feedbackId,
    frameId,
    lineId: 'line-1',
    cameraId: 'cam-1',
    image: { bucket: 'frames', key: `frames/${frameId}.png`, sha256: 'b'.repeat(64) },
    verdict: { verdict: 'ok', score: 0.3, threshold: 0.5, model: { name: 'draem-aitex', version: '1.0.0', sha256: 'a'.repeat(64) }, decidedAt: '2026-11-22T10:00:01.000Z' },
    label,
    regions: [],
    reviewer: { subject: 'otto', name: 'Otto' },
    reviewedAt: `2026-11-22T11:00:0${revision}.000Z`,
    revision,
    queue: 'flagged',
  });
}

const message = (topic: string, c: { lineId: string; cameraId: string }, value: Buffer | string) => ({
  topic,
  key: messageKey(c.lineId, c.cameraId),
  value: Buffer.from(value),
  headers: {},
});

/** The crafted six frames of report-test-fixtures.ts, as real messages. */
const base = { lineId: 'line-1', cameraId: 'cam-1', version: '1.0.0' };
const cand = { ...base, version: '1.2.0', decidedAt: '2026-11-23T08:00:00.000Z' };
const line2 = { lineId: 'line-2' };
const baselineVerdicts: Crafted[] = [
  { ...base, frameId: 'f1', verdict: 'ok', score: 0.1 },
  { ...base, frameId: 'f2', verdict: 'ok', score: 0.3 },
  { ...base, cameraId: 'cam-2', frameId: 'f3', verdict: 'defect', score: 0.8 },
  { ...base, ...line2, frameId: 'f4', verdict: 'defect', score: 0.9 },
  { ...base, ...line2, frameId: 'f5', verdict: 'ok', score: 0.1 },
];
const candidateVerdicts: Crafted[] = [
  { ...cand, frameId: 'f2', verdict: 'ok', score: 0.25, decidedAt: '2026-11-23T07:00:00.000Z' },
  { ...cand, frameId: 'f1', verdict: 'ok', score: 0.2 },
  { ...cand, frameId: 'f2', verdict: 'defect', score: 0.7 },
  { ...cand, cameraId: 'cam-2', frameId: 'f3', verdict: 'ok', score: 0.4 },
  { ...cand, ...line2, frameId: 'f4', verdict: 'defect', score: 0.95 },
  { ...cand, ...line2, frameId: 'f6', verdict: 'ok', score: 0.2 },
];

describe('replay report on the broker', () => {
  let topics: { candidate: string; baseline: string; frames: string };
  let outDir: string;

  beforeAll(async () => {
    topics = { candidate: await kafka.topic({ prefix: 'replay', partitions: 2 }), baseline: await kafka.topic({ prefix: 'verdicts' }), frames: await kafka.topic({ prefix: 'frames' }) };
    outDir = await mkdtemp(join(tmpdir(), 'lw-report-'));
    const publisher = kafka.client.transactionalPublisher(`report-test-${topics.candidate}`);
    await publisher.connect();
    const committed = await publisher.transaction();
    await committed.send(candidateVerdicts.map((c) => message(topics.candidate, c, verdict(c))));
    await committed.send([...baselineVerdicts.map((c) => message(topics.baseline, c, verdict(c))), message(topics.baseline, base, '{oops')]);
    await committed.send([
      message(topics.frames, base, frame('f1', 'line-1', 'cam-1', '000', '05')),
      message(topics.frames, base, frame('f2', 'line-1', 'cam-1', '002', '05')),
      message(topics.frames, base, frame('f3', 'line-1', 'cam-2', '002', '06')),
      message(topics.frames, base, frame('f4', 'line-2', 'cam-1', '010', '06')),
      message(topics.frames, base, frame('f5', 'line-2', 'cam-1', '000', '05')),
    ]);
    await committed.commit();
    // An aborted verdict at the end of the candidate topic: read_committed must not see it,
    // and the reader must still notice the partition ends there.
    const aborted = await publisher.transaction();
    const ghost = { ...cand, frameId: 'f1', verdict: 'defect' as const, score: 0.99, decidedAt: '2026-11-24T00:00:00.000Z' };
    await aborted.send([message(topics.candidate, ghost, verdict(ghost))]);
    await aborted.abort();
    await publisher.close();
  });

  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('writes report.json with the joined figures, report.md and the chart', async () => {
    const out: string[] = [];
    const errors: string[] = [];
    const code = await runReportCommand(
      ['--replay-topic', topics.candidate, '--baseline', topics.baseline, '--frames-topic', topics.frames, '--out', 'report'],
      { env: { KAFKA_BROKERS: kafka.infra.kafkaBrokers.join(',') }, cwd: outDir, stdout: (line) => out.push(line), stderr: (line) => errors.push(line) },
    );
    expect(errors.join('\n')).toMatch(/^\S+\[0\]@5: skipped, message value is not valid JSON$/);
    expect(code).toBe(0);
    expect(out[0]).toBe(`report: ${join('report', 'report.md')}`);
    expect(out).toContain('agreement: 50.0 % (2 of 4)');

    const report = JSON.parse(await readFile(join(outDir, 'report', 'report.json'), 'utf8')) as ReplayReport;
    expect(report.streams.candidate).toMatchObject({ topic: topics.candidate, messages: 6, frames: 5, superseded: 1, invalid: 0, models: { 'draem-aitex@1.2.0': 5 } });
    expect(report.streams.baseline).toMatchObject({ messages: 5, frames: 5, invalid: 1, models: { 'draem-aitex@1.0.0': 5 } });
    expect(report.overall).toMatchObject({
      joined: 4,
      onlyCandidate: 1,
      onlyBaseline: 1,
      agreementRate: 0.5,
      flips: { okToDefect: 1, defectToOk: 1 },
      flipFrameIds: { okToDefect: ['f2'], defectToOk: ['f3'] },
      framesWithoutEvent: 1,
    });
    expect(report.overall.scoreDelta?.median).toBeCloseTo(0.075, 10);
    expect(report.overall.scoreDelta?.p5).toBeCloseTo(-0.3325, 10);
    expect(report.byDefectCode.map((group) => [group.key, group.agreementRate])).toEqual([
      ['000', 1],
      ['002', 0],
      ['010', 1],
      ['unknown', null],
    ]);

    const markdown = await readFile(join(outDir, 'report', 'report.md'), 'utf8');
    expect(markdown).toContain('](report.svg)');
    expect(existsSync(join(outDir, 'report', 'report.svg'))).toBe(true);
    expect(await readFile(join(outDir, 'report', 'report.svg'), 'utf8')).toContain('<svg');
  });

  it('exits 2 naming the option when a topic does not exist', async () => {
    const errors: string[] = [];
    const code = await runReportCommand(['--replay-topic', `${topics.candidate}-missing`, '--baseline', topics.baseline, '--frames-topic', topics.frames, '--out', outDir], {
      env: { KAFKA_BROKERS: kafka.infra.kafkaBrokers.join(',') },
      stderr: (line) => errors.push(line),
      stdout: () => undefined,
    });
    expect(code).toBe(2);
    expect(errors.join('\n')).toContain('(--replay-topic) does not exist');
  });

  it('with --feedback-topic counts the reviewed frames by their latest label, and --json prints them as one line', async () => {
    const feedback = await kafka.topic({ prefix: 'feedback', partitions: 2 });
    // f2 was first confirmed a defect, then (revision 1) called a false alarm; f3's first review comes
    // twice (a retried request: one record); f6 has no baseline verdict, f7 no verdict at all.
    const reviews: [string, Buffer | string][] = [
      ['f1', review('f1', 'ok-confirmed', 0)],
      ['f2', review('f2', 'defect-confirmed', 0)],
      ['f3', review('f3', 'false-alarm', 0)],
      ['f3', review('f3', 'false-alarm', 0)],
      ['f4', review('f4', 'defect-confirmed', 0)],
      ['f2', review('f2', 'false-alarm', 1)],
      ['f5', review('f5', 'missed-defect', 0)],
      ['f6', review('f6', 'ok-confirmed', 0)],
      ['f7', review('f7', 'missed-defect', 0)],
      ['f1', '{"not":"a review"}'],
    ];
    await kafka.publish(feedback, reviews.map(([frameId, value]) => ({ key: `line-1:${frameId}`, value })));
    const out: string[] = [];
    const errors: string[] = [];
    const argv = ['--replay-topic', topics.candidate, '--baseline', topics.baseline, '--frames-topic', topics.frames, '--feedback-topic', feedback, '--out', 'reviewed', '--format', 'html', '--json'];
    const code = await runReportCommand(argv, { env: { KAFKA_BROKERS: kafka.infra.kafkaBrokers.join(',') }, cwd: outDir, stdout: (line) => out.push(line), stderr: (line) => errors.push(line) });
    expect(code, errors.join('\n')).toBe(0);
    expect(errors.join('\n')).toMatch(new RegExp(`${feedback}\\[\\d\\]@\\d+: skipped, message does not match its schema`));

    // One line on stdout, and it is JSON.
    expect(out).toHaveLength(1);
    const line = JSON.parse(out[0] ?? '') as ReportJsonLine;
    // Normals f1, f2 (its latest label), f3: the baseline flagged f3, the candidate f2. Defects f4: both flagged it.
    expect(line.reviewed).toEqual({
      frames: 4,
      normals: { reviewed: 3, parentFlagged: 1, candidateFlagged: 1 },
      defects: { reviewed: 1, parentFlagged: 1, candidateFlagged: 1 },
    });
    expect(line).toMatchObject({ candidate: topics.candidate, baseline: topics.baseline, joined: 4, agreed: 2, files: { summary: join(outDir, 'reviewed', 'report.html') } });

    const report = JSON.parse(await readFile(join(outDir, 'reviewed', 'report.json'), 'utf8')) as ReplayReport;
    expect(report.reviewed).toEqual(line.reviewed);
    expect(report.reviewedFrames).toMatchObject({ feedbackTopic: feedback, messages: 9, invalid: 1, labelled: 7, withoutCandidate: 2, withoutBaseline: 2, changedCount: { fixed: 1, broken: 1 } });
    expect(report.reviewedFrames?.changed.map((change) => [change.frameId, change.label, change.effect, change.baseline.verdict, change.candidate.verdict])).toEqual([
      ['f2', 'false-alarm', 'broken', 'ok', 'defect'],
      ['f3', 'false-alarm', 'fixed', 'defect', 'ok'],
    ]);
    // The verdicts' overlays come along, for the links in the page.
    expect(report.reviewedFrames?.changed[0]?.candidate.overlay).toEqual({ bucket: 'results', key: 'overlays/f2.jpg' });
    const html = await readFile(join(outDir, 'reviewed', 'report.html'), 'utf8');
    expect(html).toContain('<h2>Reviewed frames</h2>');
    expect(html).toContain('<td>normals</td><td>3</td><td>1</td>');
    expect(html).toContain('<td><a href="/api/objects/results/overlays/f2.jpg">f2</a></td>');
  });

  it('without --feedback-topic leaves the reviewed figures out of report.json and the --json line', async () => {
    const out: string[] = [];
    const argv = ['--replay-topic', topics.candidate, '--baseline', topics.baseline, '--frames-topic', topics.frames, '--out', 'plain', '--json'];
    const code = await runReportCommand(argv, { env: { KAFKA_BROKERS: kafka.infra.kafkaBrokers.join(',') }, cwd: outDir, stdout: (line) => out.push(line), stderr: () => undefined });
    expect(code).toBe(0);
    expect(JSON.parse(out.at(-1) ?? '')).not.toHaveProperty('reviewed');
    expect(JSON.parse(await readFile(join(outDir, 'plain', 'report.json'), 'utf8'))).not.toHaveProperty('reviewedFrames');
  });

  it('exits 2 naming --feedback-topic when it does not exist', async () => {
    const errors: string[] = [];
    const argv = ['--replay-topic', topics.candidate, '--baseline', topics.baseline, '--frames-topic', topics.frames, '--feedback-topic', `${topics.frames}-no-feedback`, '--out', outDir];
    const code = await runReportCommand(argv, { env: { KAFKA_BROKERS: kafka.infra.kafkaBrokers.join(',') }, stderr: (line) => errors.push(line), stdout: () => undefined });
    expect(code).toBe(2);
    expect(errors.join('\n')).toContain('(--feedback-topic) does not exist');
  });
});
