import { describe, expect, it } from 'vitest';
import { HttpProblem } from './problem.js';
import { decodeCursor, encodeCursor, parseVerdictQuery } from './query.js';

const parse = (query: string) => parseVerdictQuery(new URLSearchParams(query), 200);

function refusal(query: string): string {
  try {
    parse(query);
  } catch (err) {
    if (err instanceof HttpProblem) return `${err.status} ${err.code} ${err.message}`;
    throw err;
  }
  return 'accepted';
}

describe('the verdict query', () => {
  it('takes ISO 8601 or epoch-millisecond times, filters, a limit and a cursor; empty parameters count as absent', () => {
    expect(parse('from=2026-12-04T10:00:00Z&to=1796382000000&line=line-1&camera=cam-1&verdict=defect&limit=20&cursor=0-10.1-7')).toEqual({
      fromMs: Date.parse('2026-12-04T10:00:00Z'),
      toMs: 1796382000000,
      lineId: 'line-1',
      cameraId: 'cam-1',
      verdict: 'defect',
      limit: 20,
      cursor: new Map([
        [0, 10],
        [1, 7],
      ]),
    });
    expect(parse('')).toEqual({ limit: 50 });
    expect(parse('line=&verdict=')).toEqual({ limit: 50 });
  });

  it('refuses what it cannot use with a 400 QUERY_INVALID naming the parameter', () => {
    expect(refusal('from=yesterday')).toMatch(/^400 QUERY_INVALID from=yesterday is not a time/);
    expect(refusal('from=2026-12-04T10:00:00Z&to=2026-12-04T09:00:00Z')).toMatch(/from must be before to/);
    expect(refusal('limit=0')).toMatch(/limit must be a whole number from 1 to 200/);
    expect(refusal('limit=201')).toMatch(/limit/);
    expect(refusal('limit=1.5')).toMatch(/limit/);
    expect(refusal('verdict=maybe')).toMatch(/verdict must be "ok" or "defect"/);
    expect(refusal('line=a:b')).toMatch(/line must be an id/);
    expect(refusal('camera=../x')).toMatch(/camera must be an id/);
    expect(refusal('cursor=abc')).toMatch(/cursor is not one this API handed out/);
    expect(refusal('line=a&line=b')).toMatch(/"line" is given twice/);
    expect(refusal('sort=asc')).toMatch(/unknown parameter "sort"/);
  });

  it('hands out a cursor it reads back as the same positions', () => {
    const positions = new Map([
      [2, 0],
      [0, 12345],
      [1, 9],
    ]);
    expect(encodeCursor(positions)).toBe('0-12345.1-9.2-0');
    expect(decodeCursor(encodeCursor(positions))).toEqual(positions);
  });
});
