import { describe, expect, it } from 'vitest';
import { createRecordFilter, isSelected } from './selection.js';

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
    expect(fateOf({ partition: 0, offset: '10', key: 'line-1:cam-1' })).toBe('decide');
    expect(fateOf({ partition: 0, offset: '19', key: 'line-2:cam-1' })).toBe('outside-selection');
    expect(fateOf({ partition: 0, offset: '20', key: 'line-1:cam-1' })).toBe('outside-range');
    expect(fateOf({ partition: 0, offset: '9', key: 'line-1:cam-1' })).toBe('outside-range');
    expect(fateOf({ partition: 1, offset: '12', key: 'line-1:cam-1' })).toBe('outside-range');
  });
});
