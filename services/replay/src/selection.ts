import { parseMessageKey, type ReplayPlan, type ReplaySelection } from '@loomwatch/contracts';

/** What a replay does with one input record: decide it again, or only move past it. */
type RecordFate = 'decide' | 'outside-selection' | 'outside-range';

/** Whether a message key (`line:camera`) is in the selection's lines and cameras; empty lists select everything. */
export function isSelected(key: string | undefined, selection: ReplaySelection): boolean {
  if (selection.lines.length === 0 && selection.cameras.length === 0) return true;
  const parsed = key === undefined ? undefined : parseMessageKey(key);
  if (parsed === undefined) return false;
  if (selection.lines.length > 0 && !selection.lines.includes(parsed.lineId)) return false;
  if (selection.cameras.length === 0) return true;
  return selection.cameras.some((camera) => camera === parsed.cameraId || camera === `${parsed.lineId}:${parsed.cameraId}`);
}

/**
 * The `frameId` of a FrameEvent record, read without validating the rest (the frame processor does
 * that for the frames it decides); `undefined` for a value that is not JSON with a string frameId.
 */
export function frameIdOf(value: Buffer | null): string | undefined {
  if (value === null) return undefined;
  try {
    const parsed: unknown = JSON.parse(value.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const frameId = (parsed as { frameId?: unknown }).frameId;
    return typeof frameId === 'string' ? frameId : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The fate of each record under a plan: outside `[start, end)` of its partition or the selection, it
 * is only committed. With `frameIds` in the selection a record is decided only when its frame id is
 * one of them — a record whose frame id cannot be read is not, so it is moved past rather than
 * dead-lettered: it is not one of the frames asked for.
 */
export function createRecordFilter(plan: Pick<ReplayPlan, 'partitions' | 'selection'>) {
  const ranges = new Map(plan.partitions.map((p) => [p.partition, p]));
  const frameIds = plan.selection.frameIds === undefined ? undefined : new Set(plan.selection.frameIds);
  const inFrameIds = (value: Buffer | null): boolean => {
    if (frameIds === undefined) return true;
    const frameId = frameIdOf(value);
    return frameId !== undefined && frameIds.has(frameId);
  };
  return function fateOf(record: { partition: number; offset: string; key: string | undefined; value: Buffer | null }): RecordFate {
    const range = ranges.get(record.partition);
    const offset = Number(record.offset);
    if (range === undefined || offset < range.start || offset >= range.end) return 'outside-range';
    return isSelected(record.key, plan.selection) && inFrameIds(record.value) ? 'decide' : 'outside-selection';
  };
}
