import { describe, expect, it } from 'vitest';
import { Verdict, encodeMessage } from '@loomwatch/contracts';
import type { BrokerOffsets, InboundRecord, PartitionRange, RecordVisitor, TopicReader } from '@loomwatch/kafka';
import { queryVerdicts, type HistoryDeps } from './history.js';
import type { VerdictQuery } from './query.js';
import { verdictFixture } from './testing.js';

const TOPIC = 'verdicts';
const T0 = Date.parse('2026-12-04T10:00:00Z');

/** A topic in memory: partitions of records with broker timestamps, read the way the Kafka ports read. */
function memoryTopic(partitions: InboundRecord[][]): { reader: TopicReader; offsets: BrokerOffsets; reads: PartitionRange[] } {
  const reads: PartitionRange[] = [];
  const reader: TopicReader = {
    async readRanges(ranges: readonly PartitionRange[], visit: RecordVisitor) {
      for (const range of ranges) {
        reads.push(range);
        for (const record of partitions[range.partition]?.slice(range.from, range.to) ?? []) {
          if ((await visit(record)) === 'stop') return;
        }
      }
    },
    readToEnd: () => Promise.reject(new Error('not used')),
    follow: () => Promise.reject(new Error('not used')),
  };
  const offsets: BrokerOffsets = {
    watermarks: () => Promise.resolve(partitions.map((records, partition) => ({ partition, low: 0, high: records.length }))),
    offsetsAtTime: (_topic, timeMs) =>
      Promise.resolve(
        new Map(
          partitions.map((records, partition) => {
            const at = records.findIndex((r) => Number(r.timestamp) >= timeMs);
            return [partition, at === -1 ? records.length : at];
          }),
        ),
      ),
    committed: () => Promise.resolve(new Map()),
    setCommitted: () => Promise.resolve(),
    deleteGroup: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return { reader, offsets, reads };
}

/** 3 partitions, 3 cameras, 30 verdicts one second apart; every third one a defect; one record that is not a verdict. */
function fixture() {
  const partitions: InboundRecord[][] = [[], [], []];
  const verdicts: Verdict[] = [];
  for (let i = 0; i < 30; i++) {
    const camera = `cam-${i % 3}`;
    const verdict = verdictFixture(i, { camera, defect: i % 3 === 0 && i % 2 === 0, at: new Date(T0 + i * 1000) });
    verdicts.push(verdict);
    const partition = i % 3;
    const records = partitions[partition] ?? [];
    records.push({ topic: TOPIC, partition, offset: String(records.length), key: `line-1:${camera}`, value: encodeMessage(Verdict, verdict), headers: {}, timestamp: String(T0 + i * 1000 + 500) });
    if (i === 10) records.push({ topic: TOPIC, partition, offset: String(records.length), key: 'x', value: Buffer.from('not json'), headers: {}, timestamp: String(T0 + i * 1000 + 600) });
  }
  return { partitions, verdicts };
}

async function allPages(deps: HistoryDeps, query: Omit<VerdictQuery, 'cursor'>): Promise<{ frames: string[]; pages: number }> {
  const frames: string[] = [];
  let cursor: Map<number, number> | undefined;
  for (let pages = 1; pages <= 100; pages++) {
    const page = await queryVerdicts(deps, { ...query, ...(cursor === undefined ? {} : { cursor }) });
    frames.push(...page.items.map((v) => v.frameId));
    if (page.cursor === undefined) return { frames, pages };
    cursor = new Map(page.cursor.split('.').map((pair) => pair.split('-').map(Number) as [number, number]));
  }
  throw new Error('more than 100 pages');
}

describe('past verdicts, paged back', () => {
  it('pages through every verdict newest first, without repeating or skipping one, and skips records that do not decode', async () => {
    const { partitions, verdicts } = fixture();
    const topic = memoryTopic(partitions);
    const skipped: string[] = [];
    const deps: HistoryDeps = { ...topic, verdictsTopic: TOPIC, framesTopic: 'frames', maxScan: 1000, frameLookupMs: 1000, onSkipped: (_t, code) => skipped.push(code) };
    const { frames, pages } = await allPages(deps, { limit: 4 });
    expect(frames).toEqual(verdicts.map((v) => v.frameId).reverse());
    expect(pages).toBe(8);
    expect(skipped).toContain('MESSAGE_NOT_JSON');
  });

  it('keeps to the time range and the filters, reading only the camera\'s partition when line and camera are given', async () => {
    const { partitions, verdicts } = fixture();
    const topic = memoryTopic(partitions);
    const deps: HistoryDeps = { ...topic, verdictsTopic: TOPIC, framesTopic: 'frames', maxScan: 1000, frameLookupMs: 1000 };
    const inRange = (v: Verdict) => Date.parse(v.capturedAt) >= T0 + 5000 && Date.parse(v.capturedAt) < T0 + 20_000;
    const { frames } = await allPages(deps, { limit: 2, fromMs: T0 + 5000, toMs: T0 + 20_000, verdict: 'defect' });
    expect(frames).toEqual(verdicts.filter((v) => inRange(v) && v.verdict === 'defect').map((v) => v.frameId).reverse());

    topic.reads.length = 0;
    const { frames: camera } = await allPages(deps, { limit: 3, lineId: 'line-1', cameraId: 'cam-1' });
    expect(camera).toEqual(verdicts.filter((v) => v.cameraId === 'cam-1').map((v) => v.frameId).reverse());
    expect(new Set(topic.reads.map((r) => r.partition)).size).toBe(1);
  });

  it('answers with what it found once the scan budget is spent, and the cursor goes on from there', async () => {
    const { partitions, verdicts } = fixture();
    const topic = memoryTopic(partitions);
    const deps: HistoryDeps = { ...topic, verdictsTopic: TOPIC, framesTopic: 'frames', maxScan: 3, frameLookupMs: 1000 };
    // Few matches (cam-2's defects): a page reads at most 3 records, so some pages come back short or empty.
    const first = await queryVerdicts(deps, { limit: 5, cameraId: 'cam-2', verdict: 'ok' });
    expect(first.scanned).toBeLessThanOrEqual(3);
    expect(first.cursor).toBeDefined();
    const { frames } = await allPages(deps, { limit: 5, cameraId: 'cam-2' });
    expect(frames).toEqual(verdicts.filter((v) => v.cameraId === 'cam-2').map((v) => v.frameId).reverse());
  });
});
