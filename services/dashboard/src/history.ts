/**
 * Past verdicts and frame events, read back from Kafka: offsets by time give each partition's
 * range, `readRanges` reads it (read_committed), every read bounded by a record budget.
 */
import type { z } from 'zod';
import { FrameEvent, LoomwatchError, Verdict, decodeMessage, messageKey } from '@loomwatch/contracts';
import { partitionOf, type BrokerOffsets, type PartitionRange, type TopicReader } from '@loomwatch/kafka';
import { encodeCursor, type VerdictQuery } from './query.js';
import { verdictView, type VerdictView } from './view.js';

export interface HistoryDeps {
  reader: TopicReader;
  offsets: BrokerOffsets;
  verdictsTopic: string;
  framesTopic: string;
  /** Records one page may read. */
  maxScan: number;
  /** How far past a capture time a frame event is looked for, in ms. */
  frameLookupMs: number;
  /** A record that does not decode: counted, skipped. */
  onSkipped?: (topic: string, code: string) => void;
}

export interface VerdictPage {
  /** Newest first: by offset within a partition, by record time across them. */
  items: VerdictView[];
  /** Hand it back for the next (older) page; absent when the range is read to its start. */
  cursor?: string;
  /** Records read for this page. */
  scanned: number;
}

interface Found {
  verdict: VerdictView;
  offset: number;
  timestamp: number;
}

const IDLE_TIMEOUT_MS = 15_000;

function matches(verdict: Verdict, query: VerdictQuery): boolean {
  return (
    (query.lineId === undefined || verdict.lineId === query.lineId) &&
    (query.cameraId === undefined || verdict.cameraId === query.cameraId) &&
    (query.verdict === undefined || verdict.verdict === query.verdict)
  );
}

/**
 * One page of past verdicts. Each partition's range `[offset at from, cursor or offset at to)` is
 * read backwards in growing chunks until `limit` matches are found, the ranges are read to their
 * start, or `maxScan` records were read; the cursor then says where each partition stopped, so no
 * verdict is skipped or repeated across pages. A line and camera filter reads only their partition.
 */
export async function queryVerdicts(deps: HistoryDeps, query: VerdictQuery): Promise<VerdictPage> {
  const topic = deps.verdictsTopic;
  const watermarks = await deps.offsets.watermarks(topic);
  const lows = new Map(watermarks.map((w) => [w.partition, w.low]));
  const highs = new Map(watermarks.map((w) => [w.partition, w.high]));
  const starts = query.fromMs === undefined ? lows : await deps.offsets.offsetsAtTime(topic, query.fromMs);
  const ends = query.cursor ?? (query.toMs === undefined ? highs : await deps.offsets.offsetsAtTime(topic, query.toMs));
  let partitions = watermarks.map((w) => w.partition);
  if (query.lineId !== undefined && query.cameraId !== undefined) {
    const only = partitionOf(messageKey(query.lineId, query.cameraId), watermarks.length);
    partitions = partitions.filter((p) => p === only);
  }

  const start = (p: number): number => Math.max(starts.get(p) ?? 0, lows.get(p) ?? 0);
  const end = (p: number): number => Math.min(ends.get(p) ?? 0, highs.get(p) ?? 0);
  const lo = new Map(partitions.map((p) => [p, Math.max(end(p), start(p))]));
  const found = new Map<number, Found[]>(partitions.map((p) => [p, []]));
  let scanned = 0;
  let chunk = Math.max(64, query.limit * 2);
  for (;;) {
    const total = [...found.values()].reduce((sum, list) => sum + list.length, 0);
    const active = partitions.filter((p) => (lo.get(p) ?? 0) > start(p) && (found.get(p)?.length ?? 0) < query.limit);
    const budget = deps.maxScan - scanned;
    if (total >= query.limit || active.length === 0 || budget <= 0) break;
    const share = Math.max(1, Math.min(chunk, Math.floor(budget / active.length)));
    const ranges: PartitionRange[] = active.map((p) => {
      const to = lo.get(p) ?? 0;
      return { topic, partition: p, from: Math.max(start(p), to - share), to };
    });
    const batch = new Map<number, Found[]>(active.map((p) => [p, []]));
    await deps.reader.readRanges(
      ranges,
      (record) => {
        try {
          const verdict = decodeMessage(Verdict, record.value);
          if (matches(verdict, query)) batch.get(record.partition)?.push({ verdict: verdictView(verdict), offset: Number(record.offset), timestamp: Number(record.timestamp) });
        } catch (err) {
          deps.onSkipped?.(topic, err instanceof LoomwatchError ? err.code : 'INTERNAL');
        }
      },
      { idleTimeoutMs: IDLE_TIMEOUT_MS },
    );
    for (const range of ranges) {
      scanned += range.to - range.from;
      lo.set(range.partition, range.from);
      // Older chunks go after what was found so far: each list stays newest first.
      found.get(range.partition)?.push(...(batch.get(range.partition) ?? []).sort((a, b) => b.offset - a.offset));
    }
    chunk *= 2;
  }

  // Merge the partitions' newest-first lists by record time.
  const taken = new Map<number, number>(partitions.map((p) => [p, 0]));
  const items: VerdictView[] = [];
  while (items.length < query.limit) {
    let best: { partition: number; entry: Found } | undefined;
    for (const p of partitions) {
      const entry = found.get(p)?.[taken.get(p) ?? 0];
      if (entry !== undefined && (best === undefined || entry.timestamp > best.entry.timestamp)) best = { partition: p, entry };
    }
    if (best === undefined) break;
    items.push(best.entry.verdict);
    taken.set(best.partition, (taken.get(best.partition) ?? 0) + 1);
  }

  const cursor = new Map<number, number>();
  for (const p of partitions) {
    const list = found.get(p) ?? [];
    const count = taken.get(p) ?? 0;
    // Matches left over: the next page ends before the last one taken (or where this one ended).
    const position = count < list.length ? (count === 0 ? (list[0]?.offset ?? 0) + 1 : (list[count - 1]?.offset ?? 0)) : (lo.get(p) ?? 0);
    cursor.set(p, position);
  }
  const more = partitions.some((p) => (cursor.get(p) ?? 0) > start(p));
  return { items, scanned, ...(more ? { cursor: encodeCursor(cursor) } : {}) };
}

/**
 * The first record of `schema` for frame `frameId` of `lineId:cameraId` on `topic`, looked for in
 * the camera's partition from a minute before its capture to `frameLookupMs` after it; undefined
 * when it is not there (expired by retention, or published elsewhere).
 */
async function findOfFrame<T extends { frameId: string; lineId: string; cameraId: string }>(
  deps: HistoryDeps,
  topic: string,
  schema: z.ZodType<T>,
  lineId: string,
  cameraId: string,
  frameId: string,
  capturedAtMs: number,
): Promise<T | undefined> {
  const watermarks = await deps.offsets.watermarks(topic);
  if (watermarks.length === 0) return undefined;
  const partition = partitionOf(messageKey(lineId, cameraId), watermarks.length);
  const mark = watermarks.find((w) => w.partition === partition);
  if (mark === undefined) return undefined;
  const [fromOffsets, toOffsets] = await Promise.all([
    deps.offsets.offsetsAtTime(topic, capturedAtMs - 60_000),
    deps.offsets.offsetsAtTime(topic, capturedAtMs + deps.frameLookupMs),
  ]);
  const from = Math.max(mark.low, fromOffsets.get(partition) ?? mark.low);
  const to = Math.min(mark.high, toOffsets.get(partition) ?? mark.high, from + deps.maxScan);
  if (to <= from) return undefined;
  let found: T | undefined;
  await deps.reader.readRanges(
    [{ topic, partition, from, to }],
    (record) => {
      try {
        const message = decodeMessage(schema, record.value);
        if (message.frameId !== frameId || message.lineId !== lineId || message.cameraId !== cameraId) return;
        found = message;
        return 'stop';
      } catch (err) {
        deps.onSkipped?.(topic, err instanceof LoomwatchError ? err.code : 'INTERNAL');
      }
      return;
    },
    { idleTimeoutMs: IDLE_TIMEOUT_MS },
  );
  return found;
}

/** The frame event of a verdict's frame on the frames topic (see `findOfFrame`). */
export function findFrame(deps: HistoryDeps, lineId: string, cameraId: string, frameId: string, capturedAtMs: number): Promise<FrameEvent | undefined> {
  return findOfFrame(deps, deps.framesTopic, FrameEvent, lineId, cameraId, frameId, capturedAtMs);
}

/** A frame's verdict on the verdicts topic (see `findOfFrame`): what a review answers. */
export function findVerdict(deps: HistoryDeps, lineId: string, cameraId: string, frameId: string, capturedAtMs: number): Promise<Verdict | undefined> {
  return findOfFrame(deps, deps.verdictsTopic, Verdict, lineId, cameraId, frameId, capturedAtMs);
}
