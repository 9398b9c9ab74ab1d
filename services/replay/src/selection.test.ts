import { describe, expect, it } from 'vitest';
import { createRecordFilter, frameIdOf, isSelected } from './selection.js';

describe('replay selection', () => {
  it('selects everything when no line or camera is given, even a record without a key', () => {
    expect(isSelected('line-1:cam-1', { lines: [], cameras: [] })).toBe(true);
    expect(isSelected(undefined, { lines: [], cameras: [] })).toBe(true);
  });

  it('matches lines, cameras on any line, and line:camera pairs', () => {
    const lines = { lines: ['line-1'], cameras: [] };
    expect(isSelected('line-1:cam-2', lines)).toBe(true);
    expect(isSelected('line-2:cam-2', lines)).toBe(false);
    const cameras = { lines: [], cameras: ['cam-2', 'line-3:cam-1'] };
    expect(isSelected('line-2:cam-2', cameras)).toBe(true);
    expect(isSelected('line-3:cam-1', cameras)).toBe(true);
    expect(isSelected('line-2:cam-1', cameras)).toBe(false);
    expect(isSelected('line-2:cam-2', { lines: ['line-1'], cameras: ['cam-2'] })).toBe(false);
    expect(isSelected('no-colon', lines)).toBe(false);
  });

  it('decides records inside [start, end) of their partition and the selection, and only moves past the rest', () => {
    const fateOf = createRecordFilter({ partitions: [{ partition: 0, start: 10, end: 20 }], selection: { lines: ['line-1'], cameras: [] } });
    expect(fateOf({ partition: 0, offset: '10', key: 'line-1:cam-1', value: null })).toBe('decide');
    expect(fateOf({ partition: 0, offset: '19', key: 'line-2:cam-1', value: null })).toBe('outside-selection');
    expect(fateOf({ partition: 0, offset: '20', key: 'line-1:cam-1', value: null })).toBe('outside-range');
    expect(fateOf({ partition: 0, offset: '9', key: 'line-1:cam-1', value: null })).toBe('outside-range');
    expect(fateOf({ partition: 1, offset: '12', key: 'line-1:cam-1', value: null })).toBe('outside-range');
  });

  it('decides only the frames whose frameId is listed, and moves past the others and unreadable values', () => {
    const frame = (frameId: string): Buffer => Buffer.from(JSON.stringify({ frameId, lineId: 'line-1', cameraId: 'cam-1' }));
    const fateOf = createRecordFilter({
      partitions: [{ partition: 0, start: 0, end: 10 }],
      selection: { lines: ['line-1'], cameras: [], frameIds: ['f-2', 'f-5'] },
    });
    expect(fateOf({ partition: 0, offset: '2', key: 'line-1:cam-1', value: frame('f-2') })).toBe('decide');
    expect(fateOf({ partition: 0, offset: '3', key: 'line-1:cam-1', value: frame('f-3') })).toBe('outside-selection');
    // Listed, but on a line the selection leaves out: both conditions must hold.
    expect(fateOf({ partition: 0, offset: '5', key: 'line-2:cam-1', value: frame('f-5') })).toBe('outside-selection');
    expect(fateOf({ partition: 0, offset: '6', key: 'line-1:cam-1', value: Buffer.from('not json f-5') })).toBe('outside-selection');
    expect(fateOf({ partition: 0, offset: '7', key: 'line-1:cam-1', value: null })).toBe('outside-selection');
    expect(fateOf({ partition: 0, offset: '12', key: 'line-1:cam-1', value: frame('f-2') })).toBe('outside-range');
  });

  it('reads a frame id only from a JSON object with a string frameId', () => {
    expect(frameIdOf(Buffer.from('{"frameId":"f-1","seq":3}'))).toBe('f-1');
    expect(frameIdOf(Buffer.from('{"frameId":7}'))).toBeUndefined();
    expect(frameIdOf(Buffer.from('["f-1"]'))).toBeUndefined();
    expect(frameIdOf(Buffer.from('null'))).toBeUndefined();
    expect(frameIdOf(Buffer.from('{'))).toBeUndefined();
    expect(frameIdOf(null)).toBeUndefined();
  });
});
