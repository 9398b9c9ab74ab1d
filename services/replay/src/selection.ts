import { parseMessageKey, type ReplayPlan, type ReplaySelection } from '@loomwatch/contracts';

/** What a replay does with one input record: decide it again, or only move past it. */
type RecordFate = 'decide' | 'outside-selection' | 'outside-range';

/** Whether a message key (`line:camera`) is in the selection; empty lists select everything. */
export function isSelected(key: string | undefined, selection: ReplaySelection): boolean {
  if (selection.lines.length === 0 && selection.cameras.length === 0) return true;
  const parsed = key === undefined ? undefined : parseMessageKey(key);
  if (parsed === undefined) return false;
  if (selection.lines.length > 0 && !selection.lines.includes(parsed.lineId)) return false;
  if (selection.cameras.length === 0) return true;
  return selection.cameras.some((camera) => camera === parsed.cameraId || camera === `${parsed.lineId}:${parsed.cameraId}`);
}

/** The fate of each record under a plan: outside `[start, end)` of its partition or the selection, it is only committed. */
export function createRecordFilter(plan: Pick<ReplayPlan, 'partitions' | 'selection'>) {
  const ranges = new Map(plan.partitions.map((p) => [p.partition, p]));
  return function fateOf(record: { partition: number; offset: string; key: string | undefined }): RecordFate {
    const range = ranges.get(record.partition);
    const offset = Number(record.offset);
    if (range === undefined || offset < range.start || offset >= range.end) return 'outside-range';
    return isSelected(record.key, plan.selection) ? 'decide' : 'outside-selection';
  };
}
