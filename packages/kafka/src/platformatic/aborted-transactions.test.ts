import { describe, expect, it } from 'vitest';
import { withoutAbortedRecords, type FetchedBatch } from './aborted-transactions.js';

const TRANSACTIONAL = 1 << 4;
const CONTROL = 1 << 5;
const data = (offset: number, producer: number, transactional = true): FetchedBatch => ({
  firstOffset: BigInt(offset),
  lastOffsetDelta: 0,
  producerId: BigInt(producer),
  attributes: transactional ? TRANSACTIONAL : 0,
  records: [{ key: null }],
});
const marker = (offset: number, producer: number, type: 'abort' | 'commit'): FetchedBatch => {
  const key = Buffer.alloc(4);
  key.writeInt16BE(type === 'abort' ? 0 : 1, 2);
  return { firstOffset: BigInt(offset), lastOffsetDelta: 0, producerId: BigInt(producer), attributes: TRANSACTIONAL | CONTROL, records: [{ key }] };
};
const offsets = (batches: readonly FetchedBatch[]): number[] => batches.map((batch) => Number(batch.firstOffset));

describe('withoutAbortedRecords', () => {
  it('drops each of several transactions one producer aborted, keeping its committed one and the markers', () => {
    const batches = [data(0, 7), marker(1, 7, 'abort'), data(2, 7), marker(3, 7, 'abort'), data(4, 7), marker(5, 7, 'commit')];
    const aborted = [
      { producerId: 7n, firstOffset: 0n },
      { producerId: 7n, firstOffset: 2n },
    ];
    expect(offsets(withoutAbortedRecords({ records: batches, abortedTransactions: aborted }))).toEqual([1, 3, 4, 5]);
  });

  it('drops an aborted transaction whose marker is past the fetch, and leaves other producers and plain records alone', () => {
    const batches = [data(0, 1), data(1, 2), data(2, 3, false), data(3, 1)];
    expect(offsets(withoutAbortedRecords({ records: batches, abortedTransactions: [{ producerId: 1n, firstOffset: 0n }] }))).toEqual([1, 2]);
  });

  it('keeps everything when nothing is listed as aborted', () => {
    const batches = [data(0, 1), marker(1, 1, 'commit')];
    expect(withoutAbortedRecords({ records: batches, abortedTransactions: [] })).toBe(batches);
  });
});
