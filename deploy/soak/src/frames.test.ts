import { describe, expect, it } from 'vitest';
import { messageKey } from '@loomwatch/contracts';
import { partitionOf } from '@loomwatch/kafka';
import { cameras } from './frames.js';

/** How many of the cameras' keys land on each partition. */
function loads(list: ReturnType<typeof cameras>, partitions: number): number[] {
  const counts = new Array<number>(partitions).fill(0);
  for (const camera of list) {
    const partition = partitionOf(messageKey(camera.lineId, camera.cameraId), partitions);
    counts[partition] = (counts[partition] ?? 0) + 1;
  }
  return counts;
}

describe('soak cameras', () => {
  it('puts one camera on each partition when there are as many partitions as cameras', () => {
    const list = cameras('soak', 3, 2, 6);
    expect(list).toHaveLength(6);
    expect(loads(list, 6)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(new Set(list.map((c) => `${c.lineId}/${c.cameraId}`)).size).toBe(6);
    expect(list.filter((c) => c.lineId === 'soak-line-2')).toHaveLength(2);
  });

  it('spreads more cameras than partitions within one of each other', () => {
    const counts = loads(cameras('soak', 3, 2, 4), 4);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  it('spreads where names taken in order do not (3 lines × 2 cameras once landed 2, 3, 0, 1 on 4 partitions)', () => {
    const inOrder = Array.from({ length: 6 }, (_, i) => ({ lineId: `soak-line-${Math.floor(i / 2) + 1}`, cameraId: `cam-${(i % 2) + 1}` }));
    expect(Math.max(...loads(inOrder, 4)) - Math.min(...loads(inOrder, 4))).toBeGreaterThan(1);
  });
});
